import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { writeTable } from '../../lib/ops/write.js';
import type { ObjectStore } from '../../lib/storage/object-store.js';
import { rowsBatch } from './helpers.js';

/** Shared by the health, fsck and plan tests: small tables on any store. */

export const SCHEMA = 'id:long,day:string,name:string';
export const DAY = 24 * 3_600_000;

/** `writes` appends of `rows` rows spread over `days` partitions: one small file per day per append. */
export async function appendSmallFiles(
  store: ObjectStore,
  writes: number,
  rows = 10,
  days = 2,
): Promise<void> {
  let id = 0;
  for (let w = 0; w < writes; w++) {
    const batch = [];
    for (let r = 0; r < rows; r++) {
      const n = id++;
      batch.push({ id: n, day: `d${n % days}`, name: `name-${n}` });
    }
    await writeTable(store, rowsBatch(SCHEMA, batch), { partitionBy: ['day'] });
  }
}

/** Put an unreferenced file that looks like a data file; returns its path. */
export async function putOrphan(store: ObjectStore, size = 1000, dir = 'day=d0'): Promise<string> {
  const p = `${dir}/part-00000-${randomUUID()}-c000.snappy.parquet`;
  await store.put(p, new Uint8Array(size).fill(7));
  return p;
}

const BIN = path.resolve('bin/lakehouse.js');
/** Run the built CLI (`npm run build` first). */
export function lakehouse(
  args: string[],
  env: Record<string, string> = {},
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `--storage-option K=V` pairs for the CLI. */
export function storageArgs(options: Record<string, string>): string[] {
  return Object.entries(options).flatMap(([k, v]) => ['--storage-option', `${k}=${v}`]);
}
