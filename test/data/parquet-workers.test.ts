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

  it('starts its workers ahead of work, idle, without keeping a process alive', async () => {
    const script = `
      import { ParquetPool } from ${JSON.stringify(new URL('../../dist/lib/data/parquet-workers.js', import.meta.url).href)};
      const pool = new ParquetPool(2);
      pool.warm();
      pool.warm(); // idempotent: still two workers
      console.log('warmed');
    `;
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    // A script file, not \`node -e\` (which exits after its code whatever still runs).
    const dir = mkdtempSync(join(tmpdir(), 'lk-warm-'));
    const file = join(dir, 'warm.mjs');
    writeFileSync(file, script);
    let out: string;
    try {
      out = execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 20_000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(out.trim()).toBe('warmed'); // and it exited: a live worker would hold it until the timeout
    const warm = new ParquetPool(2);
    try {
      warm.warm();
      const [a, b] = await Promise.all([warm.encode([batch]), warm.encode([batch])]);
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    } finally {
      await warm.close();
    }
  }, 30_000);
});
