import type { ObjectMeta, ObjectStore } from '../storage/object-store.js';
import { commitTimestamps } from '../delta/history.js';
import { availableVersions } from '../delta/log-segment.js';
import { checkpointInterval } from '../delta/properties.js';
import { Snapshot } from '../delta/snapshot.js';
import { LakehouseError } from '../errors.js';
import { censusFiles, retentionMsOf } from './health.js';
import { planOptimize, type OptimizeOptions, type OptimizePlan } from './optimize.js';
import {
  addRequests,
  cloudOf,
  requestCost,
  resolvePrices,
  type Cloud,
  type CloudPrices,
  type PriceOverrides,
  type RequestCounts,
} from './pricing.js';

/**
 * PLAN: what maintenance would do to a table now, and what it would cost in storage requests,
 * without doing any of it. Three parts:
 * - optimize: `planOptimize`'s plan (files and bytes each partition would rewrite and write);
 * - vacuum: the files VACUUM would delete (same rules: unreferenced by every version inside
 *   the window and older than it), per partition folder, and the versions whose time travel the
 *   deletion would end;
 * - checkpoint: whether one is due (`delta.checkpointInterval` commits since the last).
 *
 * Request counts are estimates from the plan: an optimize reads each input file twice (footer,
 * row groups) and writes each output file in one PUT, or in 8 MiB parts plus two calls above
 * 8 MiB; a vacuum lists the table page by page and deletes in the cloud's batch size; each
 * commit is one write. Costs are requests × the cloud's prices (`pricing.ts`, overridable).
 */
export interface PlanOptions {
  /** Options of the optimize being planned (target size, Z-order, where…). */
  optimize?: Omit<OptimizeOptions, 'dryRun' | 'onProgress'>;
  /** Vacuum retention in hours. Default: the table's `delta.deletedFileRetentionDuration`. */
  retentionHours?: number;
  /** A precomputed listing (inventory) for the vacuum part. */
  listing?: AsyncIterable<ObjectMeta> | Iterable<ObjectMeta>;
  /** Price the requests as on this cloud. Default: from the table URI (MinIO counts as aws). */
  cloud?: Cloud;
  /** Price overrides merged into the default table. */
  prices?: PriceOverrides;
  /** "Now", ms since the epoch (tests). */
  now?: number;
}

export interface OperationCost {
  requests: RequestCounts;
  cost: number;
}

export interface VacuumPartitionPlan {
  /** The folder of the files (`day=d0`), `(table)` for files at the root. */
  partition: string;
  files: number;
  bytes: number;
}

export interface VacuumPlan extends OperationCost {
  retentionHours: number;
  /** A retention shorter than the table's: vacuum refuses it without --force. */
  shorterThanTable: boolean;
  filesToDelete: number;
  bytesToDelete: number;
  partitions: VacuumPartitionPlan[];
  /** Versions that could no longer be read after the deletion; null when none. */
  timeTravelLost: { from: number; to: number } | null;
  filesKeptTooYoung: number;
  filesKeptForTimeTravel: number;
  filesListed: number;
  /** Storage no longer paid for, per month. */
  monthlyStorageSaving: number;
}

export interface OptimizePlanCost extends OperationCost {
  plan: OptimizePlan;
  filesToRewrite: number;
  bytesToRewrite: number;
  filesToWrite: number;
  bytesToWrite: number;
}

export interface CheckpointPlan extends OperationCost {
  due: boolean;
  commitsSinceCheckpoint: number;
  interval: number;
}

export interface TablePlan {
  location: string;
  version: number;
  cloud: Cloud;
  currency: string;
  prices: CloudPrices;
  optimize: OptimizePlanCost;
  vacuum: VacuumPlan;
  checkpoint: CheckpointPlan;
  totalRequests: RequestCounts;
  totalCost: number;
}

const HOUR = 3_600_000;
const GIB = 1024 ** 3;
/** Multipart part size of the cloud stores (lib/storage/s3.ts). */
const PART_SIZE = 8 * 1024 * 1024;

/** Requests to write one file of `size` bytes: one PUT, or create + parts + complete. */
export function writeRequests(size: number): number {
  return size <= PART_SIZE ? 1 : Math.ceil(size / PART_SIZE) + 2;
}

export async function planMaintenance(store: ObjectStore, options: PlanOptions = {}): Promise<TablePlan> {
  const now = options.now ?? Date.now();
  const snapshot = await Snapshot.load(store);
  const cloud = options.cloud ?? cloudOf(store.root);
  const prices = resolvePrices(options.prices)[cloud];
  const priced = (requests: RequestCounts): OperationCost => ({
    requests,
    cost: requestCost(requests, prices),
  });

  // Optimize: the operation's own plan.
  const plan = await planOptimize(store, { ...options.optimize, dryRun: true }, snapshot);
  let filesIn = 0;
  let bytesIn = 0;
  let filesOut = 0;
  let bytesOut = 0;
  let writes = 0;
  for (const p of plan.partitions) {
    if (p.action === 'skip') continue;
    filesIn += p.filesIn;
    bytesIn += p.bytesIn;
    filesOut += p.filesOut;
    bytesOut += p.bytesOut;
    if (p.filesOut > 0) writes += p.filesOut * writeRequests(p.bytesOut / p.filesOut);
  }
  const commits = filesIn === 0 ? 0 : plan.commitEvery > 0 ? Math.ceil(plan.numBins / plan.commitEvery) : 1;
  const optimize: OptimizePlanCost = {
    plan,
    filesToRewrite: filesIn,
    bytesToRewrite: bytesIn,
    filesToWrite: filesOut,
    bytesToWrite: bytesOut,
    ...priced({ read: 2 * filesIn, write: writes + commits, list: 0, delete: 0 }),
  };

  // Vacuum: the same rules as lib/ops/vacuum.ts.
  const tableRetentionMs = retentionMsOf(snapshot);
  const retentionMs = options.retentionHours === undefined ? tableRetentionMs : options.retentionHours * HOUR;
  if (!Number.isFinite(retentionMs) || retentionMs < 0)
    throw new LakehouseError('INVALID_ARGUMENT', 'plan: retention must be a non-negative number of hours');
  const cutoff = now - retentionMs;
  const census = await censusFiles(snapshot, cutoff, options.listing);
  const byPartition = new Map<string, VacuumPartitionPlan>();
  let toDelete = 0;
  let bytesToDelete = 0;
  let tooYoung = 0;
  for (const m of census.orphans) {
    if (m.lastModified >= cutoff) {
      tooYoung++;
      continue;
    }
    toDelete++;
    bytesToDelete += m.size;
    const slash = m.path.lastIndexOf('/');
    const partition = slash < 0 ? '(table)' : m.path.slice(0, slash);
    const entry = byPartition.get(partition) ?? { partition, files: 0, bytes: 0 };
    entry.files++;
    entry.bytes += m.size;
    byPartition.set(partition, entry);
  }
  const retained = [...census.listed].filter((p) => census.retainedTombstones.has(p)).length;
  const vacuum: VacuumPlan = {
    retentionHours: retentionMs / HOUR,
    shorterThanTable: retentionMs < tableRetentionMs,
    filesToDelete: toDelete,
    bytesToDelete,
    partitions: [...byPartition.values()].sort((a, b) => (a.partition < b.partition ? -1 : 1)),
    timeTravelLost: await timeTravelLost(snapshot, cutoff),
    filesKeptTooYoung: tooYoung,
    filesKeptForTimeTravel: retained,
    filesListed: census.filesListed,
    monthlyStorageSaving: (bytesToDelete / GIB) * prices.storagePerGiBMonth,
    ...priced({
      read: 0,
      write: toDelete > 0 ? 2 : 0, // VACUUM START and END
      list: options.listing ? 0 : Math.max(1, Math.ceil(census.filesListed / prices.listPageSize)),
      delete: Math.ceil(toDelete / prices.deleteBatchSize),
    }),
  };

  // Checkpoint.
  const interval = checkpointInterval(snapshot.properties);
  const since = snapshot.version - (snapshot.logSegment.checkpoint?.version ?? -1);
  const due = since >= interval;
  const checkpoint: CheckpointPlan = {
    due,
    commitsSinceCheckpoint: since,
    interval,
    ...priced(
      due ? { read: since, write: 2, list: 0, delete: 0 } : { read: 0, write: 0, list: 0, delete: 0 },
    ),
  };

  const totalRequests = addRequests(optimize.requests, vacuum.requests, checkpoint.requests);
  return {
    location: store.root,
    version: snapshot.version,
    cloud,
    currency: prices.currency,
    prices,
    optimize,
    vacuum,
    checkpoint,
    totalRequests,
    totalCost: requestCost(totalRequests, prices),
  };
}

/**
 * The versions a vacuum at `cutoff` makes unreadable: a tombstone removed before the cutoff was
 * read by every version before the commit that removed it (found by commit timestamps, which
 * are at or after the tombstone's deletionTimestamp). From the oldest version still loadable.
 */
async function timeTravelLost(
  snapshot: Snapshot,
  cutoff: number,
): Promise<{ from: number; to: number } | null> {
  let newestExpired = -Infinity;
  for (const rm of snapshot.tombstones())
    if (typeof rm.deletionTimestamp === 'number' && rm.deletionTimestamp < cutoff)
      newestExpired = Math.max(newestExpired, rm.deletionTimestamp);
  if (newestExpired === -Infinity) return null;
  const commits = await commitTimestamps(snapshot.store);
  const removedAt = commits.find((c) => c.timestamp >= newestExpired)?.version ?? snapshot.version;
  const earliest = (await availableVersions(snapshot.store))?.earliest ?? 0;
  return removedAt - 1 >= earliest ? { from: earliest, to: removedAt - 1 } : null;
}
