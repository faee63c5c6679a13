/**
 * Our side of each benchmark scenario (the same work as bench/peer.py does through delta-rs).
 *
 *   node dist/bench/ours.js <scenario> <fixture-json> <work-dir>
 *
 * Times only the operation, as peer.py does (not Node start-up, module loading or fixture copying;
 * where peer.py opens the table before starting its clock, so do we), and prints one JSON line
 * `{"seconds": number, "result": {...}}`; bench/run.ts compares `result` with delta-rs's.
 */
import { performance } from 'node:perf_hooks';
import { Snapshot } from '../lib/delta/snapshot.js';
import { writeCheckpoint } from '../lib/delta/checkpoint-write.js';
import { readParquetInput } from '../lib/data/input.js';
import { optimize, type OptimizeOptions } from '../lib/ops/optimize.js';
import { scanTable } from '../lib/ops/scan.js';
import { vacuum } from '../lib/ops/vacuum.js';
import { writeTable } from '../lib/ops/write.js';
import { LocalObjectStore } from '../lib/storage/local.js';
import type { ObjectStore } from '../lib/storage/object-store.js';

/** What fixtures.py describes: the table and each scenario's parameters. */
interface Fixture {
  table: string;
  version?: number;
  tt_version?: number;
  source?: string;
  id_from?: number;
  id_to?: number;
}

type Outcome = { seconds: number; result: Record<string, unknown> };

async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { seconds: (performance.now() - t0) / 1000, value };
}

/** Rows of the latest snapshot, from the files' statistics (as delta-rs's `count()` does). */
async function countRows(store: ObjectStore): Promise<number> {
  const snap = await Snapshot.load(store);
  let rows = 0;
  for (const add of snap.activeFilesIterator()) {
    const n = add.stats ? (JSON.parse(add.stats) as { numRecords?: number }).numRecords : undefined;
    if (n === undefined) throw new Error(`bench: ${add.path} has no numRecords statistic`);
    rows += n;
  }
  return rows;
}

/** Rows of a scan, timed from planning to the last batch; the table is opened first, as peer.py does. */
async function timedScan(store: ObjectStore, filter?: string): Promise<{ seconds: number; value: number }> {
  const snapshot = await Snapshot.load(store);
  return timed(async () => {
    const scan = await scanTable(store, filter ? { filter, snapshot } : { snapshot });
    let rows = 0;
    for await (const batch of scan) rows += batch.numRows;
    return rows;
  });
}

const scenarios: Record<string, (fx: Fixture, store: ObjectStore) => Promise<Outcome>> = {
  'snapshot-load': async (_fx, store) => {
    const { seconds, value: snap } = await timed(() => Snapshot.load(store));
    return { seconds, result: { version: snap.version, files: snap.numFiles } };
  },
  'snapshot-load-nocp': async (_fx, store) => scenarios['snapshot-load']!(_fx, store),
  'time-travel': async (fx, store) => {
    const { seconds, value: snap } = await timed(() => Snapshot.load(store, { version: fx.tt_version! }));
    return { seconds, result: { version: snap.version, files: snap.numFiles } };
  },
  'checkpoint-write': async (_fx, store) => {
    const snap = await Snapshot.load(store);
    const { seconds } = await timed(() => writeCheckpoint(store, snap));
    return { seconds, result: { version: snap.version, files: (await Snapshot.load(store)).numFiles } };
  },
  append: async (fx, store) => {
    const { seconds, value: metrics } = await timed(() =>
      writeTable(store, readParquetInput(fx.source!), { mode: 'append', partitionBy: ['day'] }),
    );
    return { seconds, result: { version: metrics.version, rows: await countRows(store) } };
  },
  'scan-filter': async (fx, store) => {
    const filter = `id >= ${fx.id_from!} AND id < ${fx.id_to!}`;
    const { seconds, value: rows } = await timedScan(store, filter);
    return { seconds, result: { rows } };
  },
  'scan-full': async (_fx, store) => {
    const { seconds, value: rows } = await timedScan(store);
    return { seconds, result: { rows } };
  },
  optimize: async (_fx, store) => {
    const { seconds, value: metrics } = await timed(() => optimize(store));
    const files = (await Snapshot.load(store)).numFiles;
    return { seconds, result: { rows: await countRows(store), files, removed: metrics.numFilesRemoved } };
  },
  // Issue 12: a 2 GiB partition under a 512 MiB memory limit (BUDGET_MIB in run.ts).
  'optimize-budget': async (_fx, store) => budgetRun(store, {}),
  'zorder-budget': async (_fx, store) => budgetRun(store, { zOrderBy: ['x', 'y'] }),
  'optimize-second': async (_fx, store) => {
    // Compact once (not timed), then again: the second should rewrite nothing.
    const first = await optimize(store);
    const { seconds, value: metrics } = await timed(() => optimize(store));
    return {
      seconds,
      result: {
        rows: await countRows(store),
        firstRemoved: first.numFilesRemoved,
        removed: metrics.numFilesRemoved,
        added: metrics.numFilesAdded,
        commits: metrics.commits.length,
        files: (await Snapshot.load(store)).numFiles,
      },
    };
  },
  vacuum: async (_fx, store) => {
    const { seconds, value: metrics } = await timed(() => vacuum(store, { retentionHours: 0, force: true }));
    return {
      seconds,
      result: { deleted: metrics.filesDeleted, files: (await Snapshot.load(store)).numFiles },
    };
  },
};

const BUDGET_BYTES = 512 * 1024 * 1024;

async function budgetRun(store: ObjectStore, options: OptimizeOptions): Promise<Outcome> {
  const { seconds, value: metrics } = await timed(() =>
    optimize(store, { ...options, memoryLimit: BUDGET_BYTES }),
  );
  return {
    seconds,
    result: {
      rows: await countRows(store),
      removed: metrics.numFilesRemoved,
      added: metrics.numFilesAdded,
      files: (await Snapshot.load(store)).numFiles,
      memoryLimitMb: BUDGET_BYTES / 2 ** 20,
      outputFileSizeMb: Math.round((metrics.plan.outputFileSize / 2 ** 20) * 10) / 10,
      estimatedPeakMb: Math.round(metrics.plan.estimatedPeakMemory / 2 ** 20),
      spilledMb: Math.round(metrics.spilledBytes / 2 ** 20),
    },
  };
}

async function main(): Promise<void> {
  const [scenario, fixtureJson, workDir] = process.argv.slice(2);
  if (!scenario || !fixtureJson || !workDir)
    throw new Error('usage: node dist/bench/ours.js <scenario> <fixture-json> <work-dir>');
  const run = scenarios[scenario];
  if (!run)
    throw new Error(
      `bench: our side has no scenario "${scenario}"; known: ${Object.keys(scenarios).join(', ')}`,
    );
  const fixture = JSON.parse(fixtureJson) as Fixture;
  const outcome = await run(fixture, new LocalObjectStore(workDir));
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
}

await main();
