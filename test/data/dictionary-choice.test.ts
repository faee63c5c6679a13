import { parquetMetadata } from 'hyparquet';
import { batchFromRows } from '../../lib/data/arrow-build.js';
import { canonicalRows } from '../../lib/data/arrow-values.js';
import { plainEncodedColumns, writeParquetFile } from '../../lib/data/parquet-io.js';
import { ParquetPool } from '../../lib/data/parquet-workers.js';
import { deltaSchemaToArrow } from '../../lib/delta/arrow-schema.js';
import type { StructField } from '../../lib/delta/schema.js';
import { tableFromIPC } from 'apache-arrow';

/** The Arrow schema of nullable columns of these Delta types, in this order. */
function nullableSchema(columns: Record<string, StructField['type']>) {
  return deltaSchemaToArrow({
    type: 'struct',
    fields: Object.entries(columns).map(([name, type]) => ({ name, type, nullable: true, metadata: {} })),
  });
}

/** A repeatable pseudo-random number in [0, 1) (a linear congruential generator). */
function seededRandom(seed: number): () => number {
  return () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

/** Columns of a Parquet file whose chunks carry dictionary-encoded pages. */
function dictionaryColumns(bytes: Uint8Array): string[] {
  const meta = parquetMetadata(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
  );
  return meta.row_groups[0]!.columns.filter((c) =>
    c.meta_data!.encodings.some((e) => e === 'RLE_DICTIONARY' || e === 'PLAIN_DICTIONARY'),
  ).map((c) => c.meta_data!.path_in_schema.join('.'));
}

describe('dictionary encoding chosen per column', () => {
  const schema = nullableSchema({
    id: 'long',
    price: 'double',
    uuid: 'string',
    status: 'string',
    note: 'string',
    qty: 'integer',
    sku: 'string',
    tags: { type: 'array', elementType: 'string', containsNull: true },
  });
  const random = seededRandom(42);
  const rows = Array.from({ length: 20_000 }, (_, i) => ({
    id: i,
    price: i * 0.37,
    uuid: `u-${(i * 2654435761) % 4294967296}-${i}`,
    status: ['open', 'shipped', 'returned', null][i % 4],
    note: `note ${i % 1000}`,
    qty: i % 100,
    // 5,000 SKUs drawn at random: mostly distinct in a sample of 2,048, yet a dictionary of them
    // is small and pays, so it stays.
    sku: `sku-${String(Math.floor(random() * 5000)).padStart(6, '0')}`,
    tags: i % 3 === 0 ? null : ['a', `t${i % 7}`],
  }));
  const batch = batchFromRows(schema, rows);

  it('drops the dictionary of mostly distinct columns only, and the file reads back the same', async () => {
    expect(plainEncodedColumns([batch]).sort()).toEqual(['id', 'price', 'uuid']);
    // The sample spans several batches the same way.
    expect(plainEncodedColumns([batch.slice(0, 7_000), batch.slice(7_000)]).sort()).toEqual([
      'id',
      'price',
      'uuid',
    ]);
    // Too few rows to judge: arrow-rs's default (dictionary everywhere).
    expect(plainEncodedColumns([batch.slice(0, 50)])).toEqual([]);

    const inThread = writeParquetFile([batch]);
    const pool = new ParquetPool(1);
    try {
      const viaWorker = await pool.encode([batch]);
      expect(Buffer.from(viaWorker).equals(Buffer.from(inThread))).toBe(true);
      const decoded = tableFromIPC(
        (await pool.decode(viaWorker.slice(), [{ rowGroup: 0 }], 65_536, 'x'))[0]!,
      );
      expect(decoded.batches.flatMap((b) => canonicalRows(b))).toEqual(canonicalRows(batch));
    } finally {
      await pool.close();
    }
    const withDictionary = dictionaryColumns(inThread);
    expect(withDictionary).toEqual(
      expect.arrayContaining(['status', 'note', 'qty', 'sku', 'tags.list.element']),
    );
    for (const plain of ['id', 'price', 'uuid']) expect(withDictionary).not.toContain(plain);
    // The choice can be given (a writer decides once for all its files).
    expect(dictionaryColumns(writeParquetFile([batch], { plainColumns: [] }))).toContain('id');
  });

  it('keeps the dictionary of a column with many values when a dictionary of them still pays', () => {
    // 50,000 SKUs in 200,000 rows: 96% of a 2,048-value sample is distinct, but the dictionary
    // (about 700 KB) fits arrow-rs's 1 MiB page and indices beat repeating the strings.
    const skuSchema = nullableSchema({ id: 'long', sku: 'string' });
    const random = seededRandom(7);
    const many = batchFromRows(
      skuSchema,
      Array.from({ length: 200_000 }, (_, i) => ({
        id: i,
        sku: `sku-${String(Math.floor(random() * 50_000)).padStart(6, '0')}`,
      })),
    );
    expect(plainEncodedColumns([many])).toEqual(['id']);
    const bytes = writeParquetFile([many]);
    expect(dictionaryColumns(bytes)).toEqual(['sku']);
    // And it is the smaller file: PLAIN SKUs take more room.
    expect(bytes.byteLength).toBeLessThan(
      writeParquetFile([many], { plainColumns: ['id', 'sku'] }).byteLength,
    );
  });
});
