import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { arrowSchemaToDelta, deltaSchemaToArrow } from '../../lib/delta/arrow-schema.js';
import { batchFromRows, takeBatch } from '../../lib/data/arrow-build.js';
import { canonicalRows } from '../../lib/data/arrow-values.js';
import { conformBatch } from '../../lib/data/conform.js';
import { ParquetSource, writeParquetFile } from '../../lib/data/parquet-io.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { ALL_TYPES, ALL_TYPES_ROWS } from './fixtures.js';

const EXPECTED = [
  '{"b":-128,"s":32767,"i":1,"l":"9007199254740993","f":1.5,"d":"NaN","dec":"-12345678.90","str":"héllo \\"world\\"","bin":"AAEC/w==","bool":true,"day":"1969-12-31","ts":"2026-01-02T03:04:05.123456Z","ntz":"1900-01-01T00:00:00.000001","st":{"x":7,"y":null},"arr":[1,null,3],"m":[["a",1.25],["b",null]]}',
  '{"b":null,"s":null,"i":2,"l":-5,"f":null,"d":"-Infinity","dec":"0.05","str":"","bin":null,"bool":false,"day":null,"ts":"1970-01-01T00:00:00.000000Z","ntz":null,"st":null,"arr":[],"m":null}',
];

describe('Arrow schema and values', () => {
  it('round-trips every Delta type through the Arrow schema', () => {
    expect(arrowSchemaToDelta(deltaSchemaToArrow(ALL_TYPES))).toEqual(ALL_TYPES);
  });

  it('builds batches from canonical values and prints them back canonically', () => {
    const batch = batchFromRows(deltaSchemaToArrow(ALL_TYPES), ALL_TYPES_ROWS);
    expect(canonicalRows(batch)).toEqual(EXPECTED);
  });

  it('takes rows in any order', () => {
    const batch = batchFromRows(deltaSchemaToArrow(ALL_TYPES), ALL_TYPES_ROWS);
    expect(canonicalRows(takeBatch(batch, [1, 0, 1]))).toEqual([EXPECTED[1], EXPECTED[0], EXPECTED[1]]);
  });

  it('names the column, the row and the reason when a value does not fit', () => {
    const schema = deltaSchemaToArrow(ALL_TYPES);
    expect(() => batchFromRows(schema, [{ ...ALL_TYPES_ROWS[0], b: 300 }])).toThrow(
      'column b, row 1: 300 does not fit in a 8-bit integer',
    );
    expect(() => batchFromRows(schema, [{ ...ALL_TYPES_ROWS[0], i: null }])).toThrow(
      'column i, row 1: null is null, but the column is not nullable',
    );
    expect(() => batchFromRows(schema, [{ ...ALL_TYPES_ROWS[0], dec: '1.234' }])).toThrow(
      'column dec, row 1: "1.234" is not a decimal with at most 2 fraction digits',
    );
  });
});

describe('Parquet through the object store', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lk-parquet-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['snappy', 'zstd', 'uncompressed'] as const)(
    'writes and reads back every type (%s)',
    async (compression) => {
      const store = new LocalObjectStore(dir);
      const schema = deltaSchemaToArrow(ALL_TYPES);
      const batch = batchFromRows(schema, ALL_TYPES_ROWS);
      const bytes = writeParquetFile([batch, batch], { compression, rowGroupRows: 3 });
      await store.put(`f-${compression}.parquet`, bytes);
      const src = await ParquetSource.open(store, `f-${compression}.parquet`);
      expect(src.numRows).toBe(4);
      const rows: string[] = [];
      for await (const b of src.batches()) rows.push(...canonicalRows(conformBatch(b, schema)));
      src.close();
      expect(rows).toEqual([...EXPECTED, ...EXPECTED]);
    },
  );

  it('reads only the projected columns', async () => {
    const store = new LocalObjectStore(dir);
    const schema = deltaSchemaToArrow(ALL_TYPES);
    await store.put('p.parquet', writeParquetFile([batchFromRows(schema, ALL_TYPES_ROWS)]));
    const src = await ParquetSource.open(store, 'p.parquet');
    const got: string[] = [];
    for await (const b of src.batches({ columns: ['i', 'st'] })) {
      expect(b.schema.fields.map((f) => f.name)).toEqual(['i', 'st']);
      got.push(...canonicalRows(b));
    }
    src.close();
    expect(got).toEqual(['{"i":1,"st":{"x":7,"y":null}}', '{"i":2,"st":null}']);
  });
});
