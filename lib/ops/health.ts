import type { ObjectMeta, ObjectStore } from '../storage/object-store.js';
import { canonicalPath, dataFilePath, type AddAction, type RemoveAction } from '../delta/actions.js';
import { deletionVectorPath } from '../delta/deletion-vector.js';
import { history } from '../delta/history.js';
import { checkpointInterval, parseInterval, tableProperty } from '../delta/properties.js';
import { Snapshot, rootPathOf } from '../delta/snapshot.js';
import { isLakehouseError } from '../errors.js';
import { minFileSize, OPS_DEFAULTS } from './defaults.js';
import { isProtectedPath } from './vacuum.js';

/**
 * HEALTH: how much maintenance a table needs, measured from its latest snapshot, its recent
 * history and (unless `list: false`) a listing of its files. Nothing is written.
 *
 * The measures (`HealthMeasures`) are what the operator exports as gauges and what maintenance
 * triggers are expressed on; `healthScore` turns them into a 0–100 score by a fixed, documented
 * rule (see `healthScore`). Both are pure data: the reconciler may call `healthScore` on measures
 * it gathered itself.
 */
export interface HealthOptions {
  /** Files below this size are small. Default 3/4 of the 128 MiB target (`OPS_DEFAULTS`). */
  smallFileThreshold?: number;
  /** List the table's files to find orphans. Default true (one LIST pass over the table). */
  list?: boolean;
  /** A precomputed listing (an inventory report) instead of listing the store. */
  listing?: AsyncIterable<ObjectMeta> | Iterable<ObjectMeta>;
  /** Newest commits read to find the last OPTIMIZE and VACUUM. Default 1000. */
  historyLimit?: number;
  /** "Now", ms since the epoch (tests). Default Date.now(). */
  now?: number;
}

/** When a maintenance operation last succeeded; null when not found in the commits examined. */
export interface LastRun {
  version: number | null;
  /** ms since the epoch. */
  timestamp: number;
  ageHours: number;
}

export interface HealthMeasures {
  version: number;
  numFiles: number;
  sizeInBytes: number;
  smallFileThreshold: number;
  smallFiles: number;
  /** smallFiles / numFiles (0 for an empty table). */
  smallFileRatio: number;
  /** Small files that share their partition with another small file: what optimize can merge. */
  compactableSmallFiles: number;
  /** Version of the newest complete checkpoint the snapshot was loaded from; null without one. */
  lastCheckpointVersion: number | null;
  /** Commits after that checkpoint (every commit when there is none). */
  commitsSinceCheckpoint: number;
  /** The table's `delta.checkpointInterval`. */
  checkpointInterval: number;
  /** Wall time to open the latest snapshot (list the log, read checkpoint and commits), ms. */
  openLatestMs: number;
  retentionHours: number;
  /** Files removed inside the retention window: VACUUM must keep them for time travel. */
  removedFilesInRetention: number;
  removedBytesInRetention: number;
  /** Unreferenced files (not read by any version inside the window); null when not listed. */
  orphanFiles: number | null;
  orphanBytes: number | null;
  /** Of those, older than the retention window: what VACUUM would delete now. */
  reclaimableFiles: number | null;
  reclaimableBytes: number | null;
  lastOptimize: LastRun | null;
  lastVacuum: LastRun | null;
  lastCheckpoint: LastRun | null;
  /** Commits read for `lastOptimize`/`lastVacuum` (null there means "not among these"). */
  commitsExamined: number;
}

/** One reason the score is below 100. */
export interface HealthDeduction {
  measure: 'smallFiles' | 'checkpoint' | 'openTime' | 'orphans';
  points: number;
  reason: string;
}

export interface HealthReport extends HealthMeasures {
  location: string;
  score: number;
  deductions: HealthDeduction[];
  durationMs: number;
}

/** Largest deduction of each rule; they sum to 100. */
export const HEALTH_WEIGHTS = { smallFiles: 40, checkpoint: 20, openTime: 15, orphans: 25 } as const;
/** Opening the latest snapshot in this long or longer costs the whole openTime weight. */
export const SLOW_OPEN_MS = 10_000;

const HOUR = 3_600_000;

/**
 * The health score, 0–100 (100: nothing to do), from the measures alone:
 * - small files: `40 × compactableSmallFiles / numFiles`: only small files that share their
 *   partition with another small file count (a partition's lone small file cannot be merged with
 *   anything, so a freshly compacted table scores full marks);
 * - checkpoint: 2 points per commit beyond `checkpointInterval` since the last checkpoint, at
 *   most 20 (readers replay those commits one by one);
 * - open time: `15 × openLatestMs / 10 s`, at most 15;
 * - orphans: `25 × reclaimableBytes / (sizeInBytes + reclaimableBytes)`: bytes paid for that
 *   no version inside the window reads and that VACUUM may delete (unknown when not listed: 0).
 * Removed files inside the retention window cost nothing: keeping them is what time travel
 * needs. The ages of the last runs are reported, not scored: the state they leave is scored.
 * Each deduction is rounded to one decimal; the score is 100 minus their sum, rounded.
 */
export function healthScore(m: HealthMeasures): { score: number; deductions: HealthDeduction[] } {
  const deductions: HealthDeduction[] = [];
  const add = (measure: HealthDeduction['measure'], raw: number, reason: string): void => {
    const points = Math.round(raw * 10) / 10;
    if (points > 0) deductions.push({ measure, points, reason });
  };
  if (m.compactableSmallFiles >= 2) {
    add(
      'smallFiles',
      (HEALTH_WEIGHTS.smallFiles * m.compactableSmallFiles) / m.numFiles,
      `${m.compactableSmallFiles} of ${m.numFiles} files are small and share a partition (optimize compacts them)`,
    );
  }
  const overdue = m.commitsSinceCheckpoint - m.checkpointInterval;
  if (overdue > 0) {
    add(
      'checkpoint',
      Math.min(HEALTH_WEIGHTS.checkpoint, 2 * overdue),
      `${m.commitsSinceCheckpoint} commits since the last checkpoint (interval ${m.checkpointInterval})`,
    );
  }
  add(
    'openTime',
    Math.min(HEALTH_WEIGHTS.openTime, (HEALTH_WEIGHTS.openTime * m.openLatestMs) / SLOW_OPEN_MS),
    `opening the latest snapshot took ${Math.round(m.openLatestMs)} ms`,
  );
  if (m.reclaimableBytes) {
    add(
      'orphans',
      (HEALTH_WEIGHTS.orphans * m.reclaimableBytes) / (m.sizeInBytes + m.reclaimableBytes),
      `${m.reclaimableFiles} unreferenced file(s), ${m.reclaimableBytes} bytes, older than the retention window (vacuum deletes them)`,
    );
  }
  const total = deductions.reduce((s, d) => s + d.points, 0);
  return { score: Math.max(0, Math.round(100 - total)), deductions };
}

/** Classification of the files under a table root against one snapshot. */
export interface FileCensus {
  /** Paths (relative, decoded) the latest snapshot reads: data files and deletion vectors. */
  live: Set<string>;
  /** Removed inside the window: versions inside it still read them. */
  retainedTombstones: Set<string>;
  /** Listed files neither live nor retained (and not `_delta_log` or hidden). */
  orphans: ObjectMeta[];
  /** Listed paths, for finding referenced files that are missing. */
  listed: Set<string>;
  filesListed: number;
}

/** Paths the snapshot reads and tombstones inside the window (relative to the table root). */
export function referencedPaths(
  snapshot: Snapshot,
  cutoff: number,
): { live: Set<string>; retainedTombstones: Set<string> } {
  const root = rootPathOf(snapshot.store);
  const rel = (p: string): string => canonicalPath(dataFilePath(p), root);
  const filesOf = (a: AddAction | RemoveAction): string[] => {
    const out = [rel(a.path)];
    if (a.deletionVector && a.deletionVector.storageType !== 'i')
      out.push(rel(deletionVectorPath(a.deletionVector)));
    return out;
  };
  const live = new Set<string>();
  for (const add of snapshot.activeFilesIterator()) for (const p of filesOf(add)) live.add(p);
  const retainedTombstones = new Set<string>();
  for (const rm of snapshot.tombstones()) {
    if (typeof rm.deletionTimestamp === 'number' && rm.deletionTimestamp < cutoff) continue;
    for (const p of filesOf(rm)) if (!live.has(p)) retainedTombstones.add(p);
  }
  return { live, retainedTombstones };
}

/** List the table (or read `listing`) and sort every file into live, retained or orphan. */
export async function censusFiles(
  snapshot: Snapshot,
  cutoff: number,
  listing?: AsyncIterable<ObjectMeta> | Iterable<ObjectMeta>,
): Promise<FileCensus> {
  const { live, retainedTombstones } = referencedPaths(snapshot, cutoff);
  const orphans: ObjectMeta[] = [];
  const listed = new Set<string>();
  let filesListed = 0;
  for await (const meta of listing ?? snapshot.store.list('')) {
    filesListed++;
    if (isProtectedPath(meta.path)) continue;
    listed.add(meta.path);
    if (live.has(meta.path) || retainedTombstones.has(meta.path)) continue;
    orphans.push(meta);
  }
  return { live, retainedTombstones, orphans, listed, filesListed };
}

/** The table's retention window in ms (`delta.deletedFileRetentionDuration`). */
export function retentionMsOf(snapshot: Snapshot): number {
  return parseInterval(
    tableProperty(snapshot.properties, 'delta.deletedFileRetentionDuration'),
    'delta.deletedFileRetentionDuration',
  );
}

/** Active files and bytes, files below `threshold`, and how many of those share their partition
 * with another small file (what OPTIMIZE can merge). One pass over the active files. */
export function smallFileCensus(
  snapshot: Snapshot,
  threshold: number,
): { files: number; bytes: number; smallFiles: number; compactableSmallFiles: number } {
  let files = 0;
  let bytes = 0;
  let smallFiles = 0;
  const smallPerPartition = new Map<string, number>();
  const partitionColumns = snapshot.partitionColumns;
  for (const add of snapshot.activeFilesIterator()) {
    files++;
    bytes += add.size;
    if (add.size < threshold) {
      smallFiles++;
      const key = partitionColumns.map((c) => add.partitionValues[c] ?? '\u0000').join('\u0001');
      smallPerPartition.set(key, (smallPerPartition.get(key) ?? 0) + 1);
    }
  }
  let compactableSmallFiles = 0;
  for (const n of smallPerPartition.values()) if (n >= 2) compactableSmallFiles += n;
  return { files, bytes, smallFiles, compactableSmallFiles };
}

/** Measure a table's health. Errors are those of `Snapshot.load` and of the store. */
export async function measureHealth(store: ObjectStore, options: HealthOptions = {}): Promise<HealthReport> {
  const started = Date.now();
  const now = options.now ?? Date.now();
  const openStart = performance.now();
  const snapshot = await Snapshot.load(store);
  const openLatestMs = performance.now() - openStart;

  const retentionMs = retentionMsOf(snapshot);
  const cutoff = now - retentionMs;
  const threshold = options.smallFileThreshold ?? minFileSize(OPS_DEFAULTS.targetFileSize);
  const {
    files: numFiles,
    bytes,
    smallFiles: small,
    compactableSmallFiles: compactable,
  } = smallFileCensus(snapshot, threshold);
  let removedFiles = 0;
  let removedBytes = 0;
  for (const rm of snapshot.tombstones()) {
    if (typeof rm.deletionTimestamp === 'number' && rm.deletionTimestamp < cutoff) continue;
    removedFiles++;
    removedBytes += rm.size ?? 0;
  }

  let orphanFiles: number | null = null;
  let orphanBytes: number | null = null;
  let reclaimableFiles: number | null = null;
  let reclaimableBytes: number | null = null;
  if (options.list !== false || options.listing) {
    const census = await censusFiles(snapshot, cutoff, options.listing);
    orphanFiles = census.orphans.length;
    orphanBytes = census.orphans.reduce((s, m) => s + m.size, 0);
    const old = census.orphans.filter((m) => m.lastModified < cutoff);
    reclaimableFiles = old.length;
    reclaimableBytes = old.reduce((s, m) => s + m.size, 0);
  }

  const checkpoint = snapshot.logSegment.checkpoint;
  const lastCheckpoint = checkpoint
    ? lastRun(checkpoint.version, checkpoint.parts[0]!.lastModified, now)
    : null;
  const runs = await lastRuns(store, options.historyLimit ?? 1000, now);

  const measures: HealthMeasures = {
    version: snapshot.version,
    numFiles,
    sizeInBytes: bytes,
    smallFileThreshold: threshold,
    smallFiles: small,
    smallFileRatio: numFiles === 0 ? 0 : small / numFiles,
    compactableSmallFiles: compactable,
    lastCheckpointVersion: checkpoint?.version ?? null,
    commitsSinceCheckpoint: snapshot.version - (checkpoint?.version ?? -1),
    checkpointInterval: checkpointInterval(snapshot.properties),
    openLatestMs,
    retentionHours: retentionMs / HOUR,
    removedFilesInRetention: removedFiles,
    removedBytesInRetention: removedBytes,
    orphanFiles,
    orphanBytes,
    reclaimableFiles,
    reclaimableBytes,
    lastOptimize: runs.optimize,
    lastVacuum: runs.vacuum,
    lastCheckpoint,
    commitsExamined: runs.examined,
  };
  return { location: store.root, ...measures, ...healthScore(measures), durationMs: Date.now() - started };
}

function lastRun(version: number | null, timestamp: number, now: number): LastRun {
  return { version, timestamp, ageHours: Math.max(0, (now - timestamp) / HOUR) };
}

/** The newest successful OPTIMIZE and VACUUM END (status COMPLETED) among the newest commits. */
async function lastRuns(
  store: ObjectStore,
  limit: number,
  now: number,
): Promise<{ optimize: LastRun | null; vacuum: LastRun | null; examined: number }> {
  let optimize: LastRun | null = null;
  let vacuum: LastRun | null = null;
  let examined = 0;
  try {
    for await (const entry of history(store, { limit })) {
      examined++;
      const op = entry.commitInfo?.operation;
      if (!optimize && op === 'OPTIMIZE') optimize = lastRun(entry.version, entry.timestamp, now);
      if (!vacuum && op === 'VACUUM END') {
        const status = (entry.commitInfo?.operationParameters as Record<string, unknown> | undefined)?.status;
        if (status === undefined || status === 'COMPLETED')
          vacuum = lastRun(entry.version, entry.timestamp, now);
      }
      if (optimize && vacuum) break;
    }
  } catch (err) {
    // Commits cleaned up behind a checkpoint: no history to read, not an error.
    if (!isLakehouseError(err, 'NOT_A_TABLE')) throw err;
  }
  return { optimize, vacuum, examined };
}
