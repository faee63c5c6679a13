/**
 * Issue 12, items 1 and 2 on local disk and on MinIO: a memory budget that holds (write,
 * optimize, Z-order, checkpoint under --memory-limit: the peak RSS of the CLI process is measured)
 * and optimize that does only what is needed (a second optimize rewrites nothing; files at or
 * above --min-file-size stay; Z-order redoes only partitions whose clustering new data worsened).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Snapshot } from '../../lib/delta/snapshot.js';
import { checkpoint } from '../../lib/ops/checkpoint.js';
import { GC_HEADROOM } from '../../lib/ops/memory-budget.js';
import { optimize } from '../../lib/ops/optimize.js';
import { writeTable } from '../../lib/ops/write.js';
import { openStore } from '../../lib/storage/index.js';
import type { ObjectStore } from '../../lib/storage/object-store.js';
import { requireTool } from '../harness/env.js';
import { startMinio, type MinioServer } from '../harness/minio.js';
import { lakehouse, storageArgs } from './health-fixtures.js';
import { rowsBatch, tempTable } from './helpers.js';

const MIB = 1024 * 1024;
const SCHEMA = 'id:long,day:string,x:double,y:double,name:string';
const BIN = path.resolve('bin/lakehouse.js');

/** Pseudo-random doubles in [0, 1), deterministic. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** `files` appends of `rows` rows to partition `day` (x, y random over [0, 1) unless ranged). */
async function appendFiles(
  store: ObjectStore,
  files: number,
  rows: number,
  opts: { day?: string; seed?: number; xRange?: [number, number]; firstId?: number } = {},
): Promise<void> {
  const next = random(opts.seed ?? 1);
  const [lo, hi] = opts.xRange ?? [0, 1];
  let id = opts.firstId ?? 0;
  for (let f = 0; f < files; f++) {
    const batch = [];
    for (let r = 0; r < rows; r++, id++)
      batch.push({ id, day: opts.day ?? 'd0', x: lo + next() * (hi - lo), y: next(), name: `n${id % 1000}` });
    await writeTable(store, rowsBatch(SCHEMA, batch), { partitionBy: ['day'] });
  }
}

/** Runs a command and reports its peak RSS from wait4, as bench/measure.py does. */
const WAIT4 = [
  'import json, os, subprocess, sys, tempfile',
  'out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()',
  'p = subprocess.Popen(sys.argv[1:], stdout=out, stderr=err)',
  '_, status, ru = os.wait4(p.pid, 0)',
  'out.seek(0); err.seek(0)',
  'print(json.dumps({"code": os.waitstatus_to_exitcode(status), "maxrss_kb": ru.ru_maxrss, "stdout": out.read().decode(), "stderr": err.read().decode()}))',
].join('\n');

/** Run the CLI (--format json) measured: its JSON output and its peak RSS. */
function measuredCli(args: string[]): { json: Record<string, unknown>; peakMiB: number } {
  const python = requireTool('python3 (measures peak RSS)', '/usr/bin/python3');
  const r = spawnSync(python, ['-c', WAIT4, process.execPath, BIN, ...args, '--format', 'json'], {
    encoding: 'utf8',
    maxBuffer: 64 * MIB,
  });
  const m = JSON.parse(r.stdout) as { code: number; maxrss_kb: number; stdout: string; stderr: string };
  if (m.code !== 0) throw new Error(`lakehouse ${args.join(' ')} failed (exit ${m.code}): ${m.stderr}`);
  return { json: JSON.parse(m.stdout) as Record<string, unknown>, peakMiB: m.maxrss_kb / 1024 };
}

/** Write refuses a budget nothing fits in before anything is written; a fitting one caps files. */
async function writeBudget(store: ObjectStore): Promise<void> {
  const rows = [];
  for (let i = 0; i < 2000; i++) rows.push({ id: i, day: 'd0', x: i / 2000, y: 0.5, name: 'w' });
  await expect(
    writeTable(store, rowsBatch(SCHEMA, rows), { partitionBy: ['day'], memoryLimit: 32 * MIB }),
  ).rejects.toMatchObject({
    code: 'MEMORY_LIMIT',
    message: expect.stringMatching(
      /^write: --memory-limit 32 MiB is too small: this process already uses [\d.]+ (MiB|GiB), .* raise --memory-limit to at least [\d.]+ (MiB|GiB)$/,
    ),
  });
  // Nothing was written: there is no table yet.
  await expect(Snapshot.load(store)).rejects.toMatchObject({ code: 'NOT_A_TABLE' });
  const limit = process.memoryUsage().rss * 1.2 + 512 * MIB;
  const m = await writeTable(store, rowsBatch(SCHEMA, rows), { partitionBy: ['day'], memoryLimit: limit });
  expect(m.numOutputRows).toBe(2000);
  expect(m.memory!.estimatedPeakMemory).toBeLessThanOrEqual(limit);
  expect(m.memory!.targetFileSize).toBeLessThanOrEqual(128 * MIB);
  expect(m.memory!.maxBufferedBytes).toBeLessThan(limit);
}

/** Checkpoint refuses up front with an estimate, or writes and reports what it was admitted with. */
async function checkpointBudget(store: ObjectStore): Promise<void> {
  await appendFiles(store, 3, 10, { day: 'd1', firstId: 10_000 });
  const version = (await Snapshot.load(store)).version;
  await expect(checkpoint(store, { memoryLimit: 64 * MIB })).rejects.toMatchObject({
    code: 'MEMORY_LIMIT',
    message: expect.stringMatching(
      new RegExp(
        `^checkpoint: --memory-limit 64 MiB is too small: with version ${version} loaded this process uses [\\d.]+ (MiB|GiB), ` +
          'and writing a checkpoint of its 6 actions \\(1 MiB of paths and statistics\\) row group by row group needs about 17 MiB more',
      ),
    ),
  });
  const limit = process.memoryUsage().rss * 1.2 + 1024 * MIB;
  const r = await checkpoint(store, { memoryLimit: limit });
  expect(r).toMatchObject({ version, numOfAddFiles: 4 });
  expect(r.memory!.estimatedPeakMemory).toBeLessThanOrEqual(limit);
  expect(r.memory!.rowGroupRows).toBe(131_072);
  // A limit that fits only small row groups bounds them instead of refusing.
  const tight = residentBytesNow() + 16 * MIB + 50_000 * (r.memory!.actionBytes / 6) * 4;
  const bounded = await checkpoint(store, { memoryLimit: tight / (1 - GC_HEADROOM) });
  expect(bounded.memory!.rowGroupRows).toBeGreaterThanOrEqual(1024);
  expect(bounded.memory!.rowGroupRows).toBeLessThan(131_072);
  expect((await Snapshot.load(store)).numFiles).toBe(4);
}

function residentBytesNow(): number {
  return process.memoryUsage().rss;
}

/** A second optimize rewrites nothing; --min-file-size leaves big files alone. */
async function onlyWhatIsNeeded(store: ObjectStore): Promise<void> {
  await appendFiles(store, 6, 200, { day: 'a' });
  await appendFiles(store, 6, 200, { day: 'b', firstId: 5000 });
  const first = await optimize(store);
  expect(first).toMatchObject({ numFilesRemoved: 12, numFilesAdded: 2 });
  const v = (await Snapshot.load(store)).version;
  const second = await optimize(store);
  expect(second).toMatchObject({ commits: [], numFilesRemoved: 0, numFilesAdded: 0, version: v });
  expect(second.plan.numBins).toBe(0);
  expect((await Snapshot.load(store)).version).toBe(v);
  // Three new small files in a: with --min-file-size below the compacted file, only they are rewritten.
  await appendFiles(store, 3, 50, { day: 'a', firstId: 20_000 });
  const compacted = (await Snapshot.load(store))
    .activeFiles()
    .find((f) => f.partitionValues.day === 'a' && f.dataChange === false)!;
  const third = await optimize(store, { minFileSize: compacted.size });
  expect(third).toMatchObject({ numFilesRemoved: 3, numFilesAdded: 1 });
  expect((await Snapshot.load(store)).activeFiles().some((f) => f.path === compacted.path)).toBe(true);
}

/** Z-order redoes only the partition whose new files worsened its clustering. */
async function zorderIncremental(store: ObjectStore): Promise<void> {
  await appendFiles(store, 8, 300, { day: 'p', seed: 3 });
  await appendFiles(store, 8, 300, { day: 'q', seed: 4, firstId: 10_000 });
  const target = Math.ceil((await Snapshot.load(store)).sizeInBytes / 16);
  const z = { zOrderBy: ['x', 'y'], targetFileSize: target };
  const first = await optimize(store, z);
  expect(first.plan.partitions.map((p) => p.action)).toEqual(['zorder', 'zorder']);
  expect((await optimize(store, z)).commits).toEqual([]);
  // p gets files spanning all of x (worse clustering); q gets two files inside a sliver of x.
  await appendFiles(store, 2, 300, { day: 'p', seed: 5, firstId: 30_000 });
  await appendFiles(store, 2, 50, { day: 'q', seed: 6, xRange: [0.5, 0.51], firstId: 40_000 });
  const plan = (await optimize(store, { ...z, dryRun: true })).plan;
  const [p, q] = plan.partitions;
  expect(p).toMatchObject({
    action: 'zorder',
    reason: expect.stringMatching(/^2 new file\(s\) worsened clustering from/),
  });
  expect(q!.action).toBe('compact');
  expect(q!.reason).toMatch(/within tolerance; 2 small new file\(s\)|within tolerance/);
  expect(q!.filesIn).toBe(2);
  const third = await optimize(store, z);
  const snap = await Snapshot.load(store);
  // p re-clustered as a whole; in q only the two new files were compacted (untagged), the rest untouched.
  expect(third.numFilesRemoved).toBe(p!.filesIn + 2);
  const qFiles = snap.activeFiles().filter((f) => f.partitionValues.day === 'q');
  expect(qFiles.filter((f) => f.tags?.ZCUBE_ZORDER_BY !== '["x","y"]')).toHaveLength(1);
}

/**
 * The CLI under --memory-limit, measured: compaction and Z-order of a partition whose rewrite
 * would need several times the limit if held in memory stay under it (peak RSS from wait4).
 */
function budgetHolds(uri: string, extra: string[], limitMiB: number): string {
  const compact = measuredCli(['optimize', uri, '--memory-limit', `${limitMiB}MiB`, ...extra]);
  expect(compact.peakMiB).toBeLessThanOrEqual(limitMiB);
  const plan = compact.json.plan as { outputFileSize: number; estimatedPeakMemory: number };
  expect(plan.outputFileSize).toBeLessThan(16 * MIB);
  expect(compact.json.numFilesAdded as number).toBeGreaterThan(1);
  const zorder = measuredCli([
    'optimize',
    uri,
    '--zorder-by',
    'x,y',
    '--memory-limit',
    `${limitMiB}MiB`,
    ...extra,
  ]);
  expect(zorder.peakMiB).toBeLessThanOrEqual(limitMiB);
  expect(zorder.json.spilledBytes as number).toBeGreaterThan(0);
  return `compaction peak ${compact.peakMiB.toFixed(0)} MiB (files ${(plan.outputFileSize / MIB).toFixed(1)} MiB), Z-order peak ${zorder.peakMiB.toFixed(0)} MiB, limit ${limitMiB} MiB`;
}

const LIMIT_MIB = 352;
const BIG_FILES = 40; // 40 files of 50,000 rows: about 55 MiB of Parquet, 160 MiB of Arrow

describe('memory budget and incremental optimize on local disk', () => {
  test('write refuses a budget nothing fits in, before writing; a fitting budget caps buffers and files', async () => {
    await writeBudget(tempTable('budget-write').store);
  });

  test('checkpoint refuses up front with an estimate; within the budget it writes', async () => {
    const { store } = tempTable('budget-cp');
    await appendFiles(store, 1, 10);
    await checkpointBudget(store);
  });

  test('a second optimize rewrites nothing; files at or above --min-file-size are left alone', async () => {
    await onlyWhatIsNeeded(tempTable('budget-second').store);
  });

  test('Z-order redoes only partitions whose new data worsened clustering', async () => {
    await zorderIncremental(tempTable('budget-zinc').store);
  }, 120_000);

  test('CLI optimize and Z-order under --memory-limit stay under it (peak RSS measured)', async () => {
    const { dir, store } = tempTable('budget-rss');
    await appendFiles(store, BIG_FILES, 50_000);
    const cli = lakehouse(['checkpoint', dir, '--memory-limit', '16MiB']);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/checkpoint: --memory-limit 16 MiB is too small/);
    process.stdout.write(`local: ${budgetHolds(dir, [], LIMIT_MIB)}\n`);
  }, 300_000);
});

describe('memory budget and incremental optimize on S3 (MinIO)', () => {
  let minio: MinioServer;
  beforeAll(async () => {
    minio = await startMinio();
  });
  afterAll(async () => {
    await minio?.stop();
  });
  const withStore = async (fn: (store: ObjectStore, uri: string) => Promise<void>): Promise<void> => {
    const uri = minio.uri();
    const store = await openStore(uri, minio.storageOptions);
    try {
      await fn(store, uri);
    } finally {
      await store.close?.();
    }
  };

  test('write and checkpoint under --memory-limit', async () => {
    await withStore(async (store) => {
      await writeBudget(store);
      await checkpointBudget(store);
    });
  });

  test('a second optimize rewrites nothing; --min-file-size', async () => {
    await withStore(onlyWhatIsNeeded);
  });

  test('Z-order redoes only partitions whose new data worsened clustering', async () => {
    await withStore(zorderIncremental);
  }, 120_000);

  test('CLI optimize and Z-order under --memory-limit stay under it (peak RSS measured)', async () => {
    await withStore(async (store, uri) => {
      await appendFiles(store, BIG_FILES, 50_000);
      process.stdout.write(`MinIO: ${budgetHolds(uri, storageArgs(minio.storageOptions), LIMIT_MIB)}\n`);
    });
  }, 300_000);
});
