import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { tableFromArrays } from 'apache-arrow';
import { Snapshot } from '../../lib/delta/snapshot.js';
import { isLakehouseError, type LakehouseErrorCode } from '../../lib/errors.js';
import { createTable, parseColumnList } from '../../lib/ops/create.js';
import { deleteRows } from '../../lib/ops/delete.js';
import { scanTable } from '../../lib/ops/scan.js';
import { writeTable } from '../../lib/ops/write.js';
import { canonical, readRows, rowsBatch, tempTable } from './helpers.js';

const dirs: string[] = [];
function table(label: string) {
  const t = tempTable(label);
  dirs.push(t.dir);
  return t;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function expectCode(p: Promise<unknown>, code: LakehouseErrorCode, message?: string): Promise<Error> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(isLakehouseError(err) ? err.code : String(err)).toBe(code);
  if (message) expect((err as Error).message).toContain(message);
  return err as Error;
}

/** Data files (not under _delta_log) below a table folder. */
function dataFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === '_delta_log') continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

const SCHEMA = 'id:long not null,name:string,day:date';
const ROWS = [
  { id: 1, name: 'a', day: '2026-01-01' },
  { id: 2, name: 'b', day: '2026-01-01' },
  { id: 3, name: null, day: '2026-01-02' },
  { id: 4, name: 'd/e:f', day: null },
];

describe('create', () => {
  it('parses column lists, decimals and NOT NULL included', () => {
    expect(parseColumnList('id:bigint not null, price:decimal(10, 2),ts:timestamp').fields).toEqual([
      { name: 'id', type: 'long', nullable: false, metadata: {} },
      { name: 'price', type: 'decimal(10,2)', nullable: true, metadata: {} },
      { name: 'ts', type: 'timestamp', nullable: true, metadata: {} },
    ]);
    expect(() => parseColumnList('id:wide')).toThrow('schema: column id has unknown type "wide"');
  });

  it('creates version 0 with partitioning and properties, and refuses to create twice', async () => {
    const { store } = table('create');
    const res = await createTable(store, {
      schema: SCHEMA,
      partitionBy: ['day'],
      properties: { 'delta.appendOnly': 'false' },
    });
    expect(res.version).toBe(0);
    const snap = await Snapshot.load(store);
    expect(snap.partitionColumns).toEqual(['day']);
    expect(snap.properties).toEqual({ 'delta.appendOnly': 'false' });
    expect(snap.schema.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable}`)).toEqual([
      'id:long:false',
      'name:string:true',
      'day:date:true',
    ]);
    await expectCode(
      createTable(store, { schema: SCHEMA }),
      'TABLE_ALREADY_EXISTS',
      'already holds a Delta table (version 0)',
    );
    await expectCode(
      createTable(table('create2').store, { schema: SCHEMA, partitionBy: ['nope'] }),
      'INVALID_ARGUMENT',
      'partition column nope is not in the schema',
    );
  });

  it('gives timestamp_ntz and column-mapped tables the features they need', async () => {
    const { store } = table('features');
    await createTable(store, {
      schema: 'id:long,t:timestamp_ntz',
      properties: { 'delta.columnMapping.mode': 'name' },
    });
    const snap = await Snapshot.load(store);
    expect(snap.protocol.readerFeatures).toEqual(['columnMapping', 'timestampNtz']);
    expect(snap.schema.fields.map((f) => f.metadata['delta.columnMapping.id'])).toEqual([1, 2]);
    expect(snap.properties['delta.columnMapping.maxColumnId']).toBe('2');
  });
});

describe('write and read', () => {
  it('appends partitioned data in Hive layout with escaping, null partitions, stats and Spark file names', async () => {
    const { dir, store } = table('append');
    await createTable(store, { schema: SCHEMA, partitionBy: ['name'] });
    const m = await writeTable(store, rowsBatch(SCHEMA, ROWS));
    expect(m).toMatchObject({ version: 1, numFiles: 4, numOutputRows: 4, skipped: false });
    expect(dataFiles(dir).map((f) => f.replace(/part-00\d{3}-[0-9a-f-]{36}/, 'part-N-UUID'))).toEqual([
      'name=__HIVE_DEFAULT_PARTITION__/part-N-UUID.c000.snappy.parquet',
      'name=a/part-N-UUID.c000.snappy.parquet',
      'name=b/part-N-UUID.c000.snappy.parquet',
      'name=d%2Fe%3Af/part-N-UUID.c000.snappy.parquet',
    ]);
    const snap = await Snapshot.load(store);
    const special = snap.activeFiles().find((a) => a.partitionValues.name === 'd/e:f')!;
    expect(special.path).toMatch(/^name=d%252Fe%253Af\/part-/);
    expect(JSON.parse(special.stats!)).toEqual({
      numRecords: 1,
      minValues: { id: 4 },
      maxValues: { id: 4 },
      nullCount: { id: 0, day: 1 },
    });
    expect(await readRows(store)).toEqual(canonical(ROWS));
  });

  it('creates the table on first write, honours zstd, file and row-group sizes', async () => {
    const { dir, store } = table('sizes');
    const rows = Array.from({ length: 5000 }, (_, i) => ({ id: i, name: `name-${i}`, day: '2026-01-01' }));
    const batches = [0, 1, 2, 3, 4].map((k) => rowsBatch(SCHEMA, rows.slice(k * 1000, (k + 1) * 1000)));
    const m = await writeTable(store, batches, {
      compression: 'zstd',
      targetFileSize: 20_000,
      rowGroupRows: 500,
    });
    expect(m.createdTable).toBe(true);
    expect(m.version).toBe(0);
    expect(m.numFiles).toBeGreaterThan(1);
    expect(dataFiles(dir).every((f) => f.endsWith('.c000.zstd.parquet'))).toBe(true);
    expect(await readRows(store)).toEqual(canonical(rows));
    const scan = await scanTable(store, { filter: 'id >= 4990' });
    const got: number[] = [];
    for await (const b of scan) got.push(b.numRows);
    expect(got.reduce((a, b) => a + b, 0)).toBe(10);
    expect(scan.metrics.filesSkipped).toBeGreaterThan(0);
    expect(scan.metrics.filesSkipped + scan.metrics.filesScanned).toBe(m.numFiles);
  });

  it('enforces the schema before writing anything, naming the columns', async () => {
    const { dir, store } = table('enforce');
    await createTable(store, { schema: SCHEMA });
    await expectCode(
      writeTable(store, rowsBatch('id:long,name:integer,extra:string', [{ id: 1, name: 2, extra: 'x' }])),
      'SCHEMA_MISMATCH',
      'name',
    );
    await expectCode(
      writeTable(store, rowsBatch('id:long,extra:string', [{ id: 1, extra: 'x' }])),
      'SCHEMA_MISMATCH',
      'extra',
    );
    await expectCode(
      writeTable(store, rowsBatch('id:long,name:string', [{ id: null, name: 'x' }])),
      'SCHEMA_MISMATCH',
      'column id has 1 null value(s) but is not nullable',
    );
    expect(dataFiles(dir)).toEqual([]);
    // A narrower integer is widened losslessly.
    await writeTable(store, rowsBatch('id:integer not null,name:string', [{ id: 7, name: 'x' }]));
    expect(await readRows(store)).toEqual(['{"id":7,"name":"x","day":null}']);
  });

  it('accepts Arrow tables built by apache-arrow (dictionary strings, float64, int32)', async () => {
    const { store } = table('arrow-input');
    const input = tableFromArrays({
      id: Int32Array.from([1, 2]),
      name: ['x', 'y'],
      score: Float64Array.from([0.5, NaN]),
    });
    const m = await writeTable(store, input);
    expect(m).toMatchObject({ createdTable: true, numOutputRows: 2 });
    expect((await Snapshot.load(store)).schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual([
      'id:integer',
      'name:string',
      'score:double',
    ]);
    // A long does not fit an integer column: refused, naming it.
    await expectCode(
      writeTable(store, tableFromArrays({ id: BigInt64Array.from([3n]) })),
      'SCHEMA_MISMATCH',
      'id',
    );
    expect(await readRows(store)).toEqual([
      '{"id":1,"name":"x","score":0.5}',
      '{"id":2,"name":"y","score":"NaN"}',
    ]);
  });

  it('evolves the schema with mergeSchema; old rows read the new column as null', async () => {
    const { store } = table('merge');
    await writeTable(store, rowsBatch('id:long,name:string', [{ id: 1, name: 'a' }]));
    const m = await writeTable(store, rowsBatch('id:long,score:double', [{ id: 2, score: 1.5 }]), {
      mergeSchema: true,
    });
    expect(m.schemaChanged).toBe(true);
    expect(await readRows(store)).toEqual([
      '{"id":1,"name":"a","score":null}',
      '{"id":2,"name":null,"score":1.5}',
    ]);
  });

  it('refuses to evolve into a type the protocol does not support', async () => {
    const { dir, store } = table('ntz');
    await writeTable(store, rowsBatch('id:long', [{ id: 1 }]));
    await expectCode(
      writeTable(store, rowsBatch('id:long,t:timestamp_ntz', [{ id: 2, t: '2026-01-01T00:00:00' }]), {
        mergeSchema: true,
      }),
      'SCHEMA_EVOLUTION_REFUSED',
      'lacks the timestampNtz feature',
    );
    expect(dataFiles(dir).length).toBe(1);
  });

  it('overwrites, replaces partitions and rows with replaceWhere, and checks written rows match it', async () => {
    const { store } = table('overwrite');
    await writeTable(store, rowsBatch(SCHEMA, ROWS), { partitionBy: ['day'] });
    await writeTable(store, rowsBatch(SCHEMA, [{ id: 10, name: 'new', day: '2026-01-01' }]), {
      mode: 'overwrite',
      replaceWhere: "day = '2026-01-01'",
    });
    expect(await readRows(store)).toEqual(
      canonical([{ id: 10, name: 'new', day: '2026-01-01' }, ROWS[2]!, ROWS[3]!]),
    );
    await writeTable(store, rowsBatch(SCHEMA, [{ id: 5, name: 'x', day: '2026-01-02' }]), {
      mode: 'overwrite',
      replaceWhere: 'id >= 3 AND id < 10',
    });
    expect(await readRows(store)).toEqual(
      canonical([
        { id: 10, name: 'new', day: '2026-01-01' },
        { id: 5, name: 'x', day: '2026-01-02' },
      ]),
    );
    await expectCode(
      writeTable(store, rowsBatch(SCHEMA, [{ id: 1, name: 'x', day: '2026-01-02' }]), {
        mode: 'overwrite',
        replaceWhere: 'id >= 3',
      }),
      'INVALID_ARGUMENT',
      '1 row(s) violate the replaceWhere predicate',
    );
    const m = await writeTable(store, rowsBatch(SCHEMA, [ROWS[0]!]), { mode: 'overwrite' });
    expect(m.numRemovedFiles).toBeGreaterThan(0);
    expect(await readRows(store)).toEqual(canonical([ROWS[0]!]));
  });

  it('checks CHECK constraints on every written row', async () => {
    const { dir, store } = table('constraints');
    await createTable(store, { schema: SCHEMA, properties: { 'delta.constraints.positive_id': 'id > 0' } });
    expect((await Snapshot.load(store)).protocol.writerFeatures).toContain('checkConstraints');
    await writeTable(store, rowsBatch(SCHEMA, [ROWS[0]!]));
    await expectCode(
      writeTable(store, rowsBatch(SCHEMA, [{ id: 0, name: 'zero', day: null }])),
      'INVALID_ARGUMENT',
      '1 row(s) violate CHECK constraint positive_id (id > 0)',
    );
    expect(dataFiles(dir)).toHaveLength(1);
  });

  it('skips a write whose app transaction version was already committed', async () => {
    const { store } = table('idempotent');
    const first = await writeTable(store, rowsBatch(SCHEMA, [ROWS[0]!]), { appId: 'etl', appVersion: 1 });
    const again = await writeTable(store, rowsBatch(SCHEMA, [ROWS[0]!]), { appId: 'etl', appVersion: 1 });
    expect(again).toMatchObject({ skipped: true, version: first.version, numFiles: 0 });
    await writeTable(store, rowsBatch(SCHEMA, [ROWS[1]!]), { appId: 'etl', appVersion: 2 });
    expect(await readRows(store)).toEqual(canonical([ROWS[0]!, ROWS[1]!]));
    expect((await Snapshot.load(store)).appTransactionVersion('etl')).toBe(2);
  });

  it('leaves only unreferenced files when a write fails midway', async () => {
    const { dir, store } = table('failed');
    await createTable(store, { schema: SCHEMA });
    async function* input() {
      yield rowsBatch(
        SCHEMA,
        Array.from({ length: 2000 }, (_, i) => ({ id: i, name: 'x'.repeat(50), day: null })),
      );
      yield rowsBatch('id:long,name:string', [{ id: null, name: 'bad' }]);
    }
    await expectCode(writeTable(store, input(), { targetFileSize: 1000 }), 'SCHEMA_MISMATCH', 'column id');
    expect(dataFiles(dir).length).toBeGreaterThan(0);
    expect((await Snapshot.load(store)).version).toBe(0);
    expect(await readRows(store)).toEqual([]);
  });

  it('reads projections, filters, limits and older versions', async () => {
    const { store } = table('scan');
    await writeTable(store, rowsBatch(SCHEMA, ROWS.slice(0, 2)), { partitionBy: ['day'] });
    await writeTable(store, rowsBatch(SCHEMA, ROWS.slice(2)));
    expect(
      await readRows(store, { columns: ['name', 'id'], filter: "day = '2026-01-01' OR day IS NULL" }),
    ).toEqual(['{"name":"a","id":1}', '{"name":"b","id":2}', '{"name":"d/e:f","id":4}']);
    expect(await readRows(store, { version: 0 })).toEqual(canonical(ROWS.slice(0, 2)));
    expect((await readRows(store, { limit: 3 })).length).toBe(3);
    const scan = await scanTable(store, { filter: "day = '2026-01-02'" });
    expect(scan.files.length).toBe(1);
    expect(scan.metrics.filesSkipped).toBe(2);
    await expectCode(
      scanTable(store, { columns: ['nope'] }),
      'INVALID_ARGUMENT',
      'no column nope; columns are id, name, day',
    );
  });
});

describe('delete', () => {
  it('drops covered files unread, rewrites partly matching ones, and commits nothing when nothing matches', async () => {
    const { store } = table('delete');
    await writeTable(store, rowsBatch(SCHEMA, ROWS), { partitionBy: ['day'] });
    const byPartition = await deleteRows(store, { predicate: "day = '2026-01-02'" });
    expect(byPartition).toMatchObject({
      committed: true,
      version: 1,
      numDeletedRows: 1,
      numRemovedFiles: 1,
      numAddedFiles: 0,
      numFilesScanned: 0,
    });
    const byRow = await deleteRows(store, { predicate: "name = 'a'" });
    expect(byRow).toMatchObject({
      committed: true,
      version: 2,
      numDeletedRows: 1,
      numRemovedFiles: 1,
      numAddedFiles: 1,
      numCopiedRows: 1,
    });
    expect(await readRows(store)).toEqual(canonical([ROWS[1]!, ROWS[3]!]));
    const none = await deleteRows(store, { predicate: 'id = 99' });
    expect(none).toMatchObject({ committed: false, version: 2, numDeletedRows: 0 });
    const all = await deleteRows(store);
    expect(all).toMatchObject({ committed: true, numDeletedRows: 2 });
    expect(await readRows(store)).toEqual([]);
    const history = readFileSync(
      path.join(store.root.replace('file://', ''), '_delta_log/00000000000000000002.json'),
      'utf8',
    );
    expect(history).toContain('"operation":"DELETE"');
    expect(
      existsSync(path.join(store.root.replace('file://', ''), '_delta_log/00000000000000000005.json')),
    ).toBe(false);
  });

  it('marks rows deleted with deletion vectors on tables that enable them', async () => {
    const { store } = table('delete-dv');
    await createTable(store, { schema: SCHEMA, properties: { 'delta.enableDeletionVectors': 'true' } });
    const rows = Array.from({ length: 10 }, (_, i) => ({ id: i, name: `n${i}`, day: '2026-01-01' }));
    await writeTable(store, rowsBatch(SCHEMA, rows));
    const first = await deleteRows(store, { predicate: 'id = 3' });
    expect(first).toMatchObject({ numDeletedRows: 1, numDeletionVectorsAdded: 1, numCopiedRows: 0 });
    const second = await deleteRows(store, { predicate: 'id IN (3, 4, 5)' });
    expect(second).toMatchObject({ numDeletedRows: 2, numDeletionVectorsAdded: 1 });
    const snap = await Snapshot.load(store);
    const [file] = snap.activeFiles();
    expect(snap.numFiles).toBe(1);
    expect(file!.deletionVector).toMatchObject({ storageType: 'u', cardinality: 3, offset: 1 });
    expect(JSON.parse(file!.stats!)).toMatchObject({ numRecords: 10, tightBounds: false });
    expect(await readRows(store)).toEqual(canonical(rows.filter((r) => r.id < 3 || r.id > 5)));
    expect((await deleteRows(store, { predicate: 'id >= 0' })).numDeletedRows).toBe(7);
    expect((await Snapshot.load(store)).numFiles).toBe(0);
  });
});
