import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { openStore, type StorageOptions } from '../../lib/storage/index.js';
import { Snapshot, Transaction } from '../../lib/delta/index.js';

const WORKER = path.resolve('test/storage/workers/commit-worker.mjs');

function runWorker(uri: string, options: StorageOptions, writer: number, commits: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [WORKER, uri, JSON.stringify(options), String(writer), String(commits)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`writer ${writer} exited with ${code}: ${err}`)),
    );
  });
}

/**
 * Concurrent commits on a real store: `writers` processes each make `commits` blind-append commits
 * to one table (the Delta log only: the adds name files that are not written). Afterwards every
 * commit is visible exactly once, at contiguous versions 1..writers*commits.
 */
export function concurrentCommitsTest(
  name: string,
  target: () => { uri: string; options: StorageOptions },
  writers = 4,
  commits = 25,
): void {
  test(`${name}: ${writers} processes x ${commits} commits to one table, none lost or doubled`, async () => {
    const { uri, options } = target();
    const store = await openStore(uri, options);
    await new Transaction(store, null, { operation: 'CREATE TABLE' })
      .addActions([
        {
          metaData: {
            id: 'b2c1c7e4-0000-4000-8000-000000000001',
            format: { provider: 'parquet', options: {} },
            schemaString: JSON.stringify({
              type: 'struct',
              fields: [{ name: 'id', type: 'long', nullable: true, metadata: {} }],
            }),
            partitionColumns: [],
            configuration: {},
            createdTime: Date.now(),
          },
        },
      ])
      .commit();

    await Promise.all(Array.from({ length: writers }, (_, w) => runWorker(uri, options, w, commits)));

    const total = writers * commits;
    const snapshot = await Snapshot.load(store);
    expect(snapshot.version).toBe(total);
    const expected = Array.from({ length: writers }, (_, w) =>
      Array.from({ length: commits }, (_, i) => `part-w${w}-${String(i).padStart(3, '0')}.parquet`),
    ).flat();
    expect(
      snapshot
        .activeFiles()
        .map((a) => a.path)
        .sort(),
    ).toEqual(expected.sort());
    // One commit file per version, 0..total, each adding exactly one file after version 0.
    const commitsSeen: string[] = [];
    for await (const m of store.list('_delta_log/')) if (m.path.endsWith('.json')) commitsSeen.push(m.path);
    expect(commitsSeen).toEqual(
      Array.from({ length: total + 1 }, (_, v) => `_delta_log/${String(v).padStart(20, '0')}.json`),
    );
    await store.close?.();
  }, 600_000);
}
