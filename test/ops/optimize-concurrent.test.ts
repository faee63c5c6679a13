import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { canonicalRows } from '../../lib/data/arrow-values.js';
import { Snapshot } from '../../lib/delta/snapshot.js';
import { optimize } from '../../lib/ops/optimize.js';
import { tableHistory } from '../../lib/ops/history.js';
import { scanTable } from '../../lib/ops/scan.js';
import { writeTable } from '../../lib/ops/write.js';
import { openStore } from '../../lib/storage/index.js';
import type { ObjectStore } from '../../lib/storage/object-store.js';
import { startMinio, type MinioServer } from '../harness/minio.js';
import { peerRead } from '../harness/peers.js';
import { rowsBatch, tempTable } from './helpers.js';

const SCHEMA = 'id:long,day:string,x:long,y:long,name:string';
const WORKER = path.resolve('test/ops/workers/appender.mjs');

interface AppenderResult {
  writer: string;
  appends: number;
  versions: number[];
  retries: number;
}

function startAppender(
  table: string,
  storageOptions: Record<string, string>,
  writer: number,
  stopFile: string,
): { child: ChildProcess; ready: Promise<void>; done: Promise<AppenderResult> } {
  const child = spawn(process.execPath, [WORKER, table, String(writer), stopFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LAKEHOUSE_TEST_STORAGE_OPTIONS: JSON.stringify(storageOptions) },
  });
  let out = '';
  let err = '';
  let signalReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (signalReady = resolve));
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    if (out.includes('ready\n')) signalReady();
  });
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const done = new Promise<AppenderResult>((resolve, reject) => {
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`appender ${writer} exited with ${code}: ${err}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as AppenderResult);
    });
  });
  return { child, ready, done };
}

async function idsOf(store: ObjectStore): Promise<number[]> {
  const ids: number[] = [];
  for await (const b of await scanTable(store, { columns: ['id'] }))
    for (const row of canonicalRows(b)) ids.push((JSON.parse(row) as { id: number }).id);
  return ids;
}

/**
 * 4 appender processes commit 10-row appends as fast as they can while optimize compacts with
 * --commit-every 1: optimize finishes (no commit-attempts error), nothing is lost, every
 * appender's commits are there (our scan and delta-rs).
 */
async function optimizeUnderIngest(
  store: ObjectStore,
  table: string,
  storageOptions: Record<string, string>,
  label: string,
): Promise<void> {
  // Seed: 8 appends × 4 partitions of 500 rows each.
  let id = 0;
  for (let w = 0; w < 8; w++) {
    const rows = [];
    for (let r = 0; r < 2000; r++, id++)
      rows.push({ id, day: `d${id % 4}`, x: id % 1000, y: id % 997, name: 'seed' });
    await writeTable(store, rowsBatch(SCHEMA, rows), { partitionBy: ['day'] });
  }
  const seedVersion = (await Snapshot.load(store)).version;
  const stopFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'lk-opt-ingest-stop-')), 'stop');
  const appenders = [1, 2, 3, 4].map((w) => startAppender(table, storageOptions, w, stopFile));
  let m: Awaited<ReturnType<typeof optimize>>;
  try {
    await Promise.all(appenders.map((a) => a.ready));
    m = await optimize(store, { commitEvery: 1 });
  } finally {
    writeFileSync(stopFile, '');
  }
  const results = await Promise.all(appenders.map((a) => a.done));

  // Optimize finished: one commit per partition's bin; the 32 seed files and the appends it saw
  // at its start compacted, nothing dropped.
  expect(m.commits).toHaveLength(4);
  expect(m.numBinsDropped).toBe(0);
  expect(m.numFilesRemoved).toBe(m.plan.partitions.reduce((s, p) => s + p.filesIn, 0));
  expect(m.numFilesRemoved).toBeGreaterThanOrEqual(32);
  expect(m.numFilesAdded).toBe(4);
  // Every appender's commits are there, as WRITE commits, interleaved with OPTIMIZE.
  const history = await tableHistory(store);
  const ops = new Map(history.map((h) => [h.version, h.operation]));
  for (const r of results) {
    expect(r.appends).toBeGreaterThan(0);
    for (const v of r.versions) expect(ops.get(v)).toBe('WRITE');
  }
  for (const v of m.commits) expect(ops.get(v)).toBe('OPTIMIZE');
  const appendVersions = results.flatMap((r) => r.versions);
  expect(m.commits.some((v) => v > Math.min(...appendVersions))).toBe(true);
  expect(new Set([...appendVersions, ...m.commits]).size).toBe(appendVersions.length + m.commits.length);
  expect((await Snapshot.load(store)).version).toBe(seedVersion + appendVersions.length + m.commits.length);

  // Every row exactly once: the seed and each appender's 10 rows per append.
  const expected: number[] = [];
  for (let i = 0; i < id; i++) expected.push(i);
  for (const r of results)
    for (let i = 0; i < r.appends * 10; i++) expected.push(Number(r.writer) * 1_000_000 + i);
  const ids = await idsOf(store);
  expect(ids.sort((a, b) => a - b)).toEqual(expected.sort((a, b) => a - b));
  const rs = await peerRead('delta-rs', table, {
    columns: ['id'],
    ...(Object.keys(storageOptions).length ? { storage_options: storageOptions } : {}),
  });
  expect(rs.numRows).toBe(expected.length);
  process.stdout.write(
    `optimize under ingest (${label}): ${results.map((r) => r.appends).join('+')} appends during the run, ` +
      `optimize commits ${m.commits.join(',')}, ${m.numConflictsResolved} concurrent commits resolved, rebases ${m.numRebases}, appender retries ${results.map((r) => r.retries).join('+')}, ` +
      `${m.executionTimeMs} ms\n`,
  );
}

describe('optimize yields to live writers', () => {
  test('local disk: 4 appenders at full speed while optimize commits every bin: optimize finishes, no row and no append is lost', async () => {
    const { dir, store } = tempTable('opt-ingest');
    await optimizeUnderIngest(store, dir, {}, 'local disk');
  }, 300_000);

  describe('on S3 (MinIO)', () => {
    let minio: MinioServer;
    beforeAll(async () => {
      minio = await startMinio();
    });
    afterAll(async () => {
      await minio?.stop();
    });

    test('4 appenders at full speed while optimize commits every bin: optimize finishes, no row and no append is lost', async () => {
      const uri = minio.uri();
      const store = await openStore(uri, minio.storageOptions);
      try {
        await optimizeUnderIngest(store, uri, minio.storageOptions, 'MinIO');
      } finally {
        await store.close?.();
      }
    }, 300_000);
  });
});
