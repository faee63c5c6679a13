import { deltaSchemaToArrow } from '../../lib/delta/arrow-schema.js';
import { batchFromRows } from '../../lib/data/arrow-build.js';
import { canonicalRows } from '../../lib/data/arrow-values.js';
import { writeParquetFile } from '../../lib/data/parquet-io.js';
import { ParquetPool } from '../../lib/data/parquet-workers.js';
import { tableFromIPC } from 'apache-arrow';
import { ALL_TYPES, ALL_TYPES_ROWS } from './fixtures.js';

describe('Parquet on worker threads', () => {
  const pool = new ParquetPool(2);
  afterAll(() => pool.close());
  const batch = batchFromRows(deltaSchemaToArrow(ALL_TYPES), ALL_TYPES_ROWS);

  it('encodes what the in-thread writer encodes and decodes it back, rows and ranges', async () => {
    const [viaWorker, viaWorker2] = await Promise.all([
      pool.encode([batch, batch], { compression: 'zstd' }),
      pool.encode([batch], {}),
    ]);
    const inThread = writeParquetFile([batch, batch], { compression: 'zstd' });
    expect(Buffer.from(viaWorker).equals(Buffer.from(inThread))).toBe(true);
    expect(viaWorker2.byteLength).toBeGreaterThan(0);

    const ipcs = await pool.decode(
      viaWorker.slice(),
      [{ rowGroup: 0 }, { rowGroup: 0, offset: 1, limit: 2 }],
      1024,
      'x.parquet',
    );
    expect(ipcs).toHaveLength(2);
    const all = tableFromIPC(ipcs[0]!).batches.flatMap((b) => canonicalRows(b));
    const some = tableFromIPC(ipcs[1]!).batches.flatMap((b) => canonicalRows(b));
    const expected = [...canonicalRows(batch), ...canonicalRows(batch)];
    expect(all).toEqual(expected);
    expect(some).toEqual(expected.slice(1, 3));
  });

  it('reports a corrupt file as STORAGE naming it, and keeps working after', async () => {
    const good = writeParquetFile([batch]);
    const bad = good.slice();
    bad.fill(0x55, 4, Math.floor(bad.length / 2)); // pages destroyed, footer intact
    await expect(pool.decode(bad, [{ rowGroup: 0 }], 1024, 'broken.parquet')).rejects.toMatchObject({
      code: 'STORAGE',
      message: expect.stringContaining('broken.parquet'),
    });
    const again = await pool.decode(good.slice(), [{ rowGroup: 0 }], 1024, 'good.parquet');
    expect(tableFromIPC(again[0]!).numRows).toBe(ALL_TYPES_ROWS.length);
  });
});
