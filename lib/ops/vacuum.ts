import { LakehouseError, isLakehouseError } from '../errors.js';
import type { ObjectMeta, ObjectStore } from '../storage/object-store.js';
import { canonicalPath, dataFilePath } from '../delta/actions.js';
import { deletionVectorPath } from '../delta/deletion-vector.js';
import { assertWritable } from '../delta/features.js';
import { LOG_DIR } from '../delta/log-path.js';
import { parseInterval, tableProperty } from '../delta/properties.js';
import { Snapshot, rootPathOf } from '../delta/snapshot.js';
import { Transaction } from '../delta/transaction.js';
import { LEASE_TTL_MS, readLiveLeases } from '../delta/write-lease.js';

/**
 * VACUUM: delete data files that no version inside the retention window needs.
 *
 * Semantics and safety rules, in the order they are checked:
 * - The retention is `retentionHours` or the table's `delta.deletedFileRetentionDuration`
 *   (default 7 days). A retention shorter than the table's is refused with UNSAFE_OPERATION
 *   unless `force` is set: readers and writers still using an older version would lose files.
 * - A file is deleted only when ALL of these hold: it is not referenced by the latest snapshot
 *   (data files and their deletion-vector files); it is not a tombstone removed inside the window
 *   (every version inside the window can still be read: a file it reads is active now or was
 *   removed after that version, so its tombstone is younger than the cutoff); and its own
 *   modification time is older than the cutoff, whether or not the log knows it (an append in
 *   flight may have written it and not committed yet). Orphans that no commit ever referenced
 *   are deleted under the same age rule.
 * - Writes in flight: lakehouse-kit writers hold a write lease (`delta/write-lease.ts`) from
 *   before their first file until their commit; an unreferenced file modified after the start of
 *   any live lease is kept, whatever the retention (`filesKeptInFlight`). VACUUM lists the files,
 *   then the leases, then reads the log again: a commit that lands meanwhile is seen, a write
 *   still in flight is protected. So even `--retention-hours 0 --force` never deletes a file a
 *   lakehouse-kit commit adds. Spark and delta-rs writers take no lease: for them the retention
 *   must exceed their longest write, as Delta requires.
 * - `_delta_log/` is never touched; nor are files or folders whose name starts with `_` or `.`
 *   (except partition folders such as `_col=1`, and `_change_data/`, whose files follow the age
 *   rule).
 * - Like Spark, a real run records a `VACUUM START` and a `VACUUM END` commit (commitInfo only:
 *   no data change, so they never conflict with writers). A dry run changes nothing.
 * - Deletes run in batches; a crash part-way leaves the table consistent (every deleted file was
 *   already unreferenced), and the next vacuum finishes the job. Batches run `concurrency` at a
 *   time, under `maxDeletesPerSecond` when given.
 * - A given `listing` (an inventory report) may be stale: each candidate is re-checked with
 *   `head` just before its batch is deleted and kept if it is gone or now younger than the
 *   cutoff. Files the listing does not name are never deleted.
 */
export interface VacuumOptions {
  /** Retention in hours. Default: the table's `delta.deletedFileRetentionDuration` (7 days). */
  retentionHours?: number;
  /** Allow a retention shorter than the table's. Default false. */
  force?: boolean;
  /** List what would be deleted, delete nothing. Default false. */
  dryRun?: boolean;
  /** Paths per delete batch. Default 1000 (the S3 DeleteObjects limit). */
  batchSize?: number;
  /** "Now", ms since the epoch (tests). Default Date.now(). */
  now?: number;
  /** Progress after each batch: candidates handled so far (deleted, or kept by the re-check) of all. */
  onProgress?: (processed: number, total: number) => void;
  /** A precomputed listing (e.g. from an inventory report) instead of listing the store. */
  listing?: AsyncIterable<ObjectMeta> | Iterable<ObjectMeta>;
  /**
   * `head` each candidate just before deleting it and keep it if it is gone or now younger than
   * the cutoff (rewritten since the listing). Default: true when `listing` is given (an
   * inventory can be days old), false for a live listing.
   */
  verifyBeforeDelete?: boolean;
  /** Delete batches in flight at once. Default 4. */
  concurrency?: number;
  /** At most this many deletes per second, across batches. Default unlimited. */
  maxDeletesPerSecond?: number;
}

export interface VacuumMetrics {
  version: number;
  dryRun: boolean;
  retentionHours: number;
  /** Files deleted (or, in a dry run, that would be). */
  filesDeleted: number;
  bytesDeleted: number;
  /** The paths, relative to the table root. */
  deletedPaths: string[];
  /** Files kept only because they are younger than the cutoff though unreferenced. */
  filesKeptTooYoung: number;
  /** Candidates of a given listing found gone or rewritten (younger) when re-checked: not deleted. */
  filesSkippedStale: number;
  /** Tombstoned files kept because a version inside the window still reads them. */
  filesKeptForTimeTravel: number;
  /** Unreferenced files kept because a lakehouse-kit write in flight may commit them (its lease). */
  filesKeptInFlight: number;
  /** Live write leases seen (writes in flight). */
  writesInFlight: number;
  filesScanned: number;
  /** Temporary files of interrupted writes deleted (local disk only; see ObjectStore). */
  temporaryFilesDeleted?: number;
  durationMs: number;
}

const HOUR = 3_600_000;
/** Races VACUUM START/END may lose before giving up (each loss backs off; see Transaction). */
const COMMIT_INFO_RETRIES = 200;

export async function vacuum(store: ObjectStore, options: VacuumOptions = {}): Promise<VacuumMetrics> {
  const started = Date.now();
  const now = options.now ?? Date.now();
  const snapshot = await Snapshot.load(store);
  assertWritable(snapshot.protocol, snapshot.metadata);

  const tableRetentionMs = parseInterval(
    tableProperty(snapshot.properties, 'delta.deletedFileRetentionDuration'),
    'delta.deletedFileRetentionDuration',
  );
  const retentionMs = options.retentionHours === undefined ? tableRetentionMs : options.retentionHours * HOUR;
  if (!Number.isFinite(retentionMs) || retentionMs < 0) {
    throw new LakehouseError('INVALID_ARGUMENT', `vacuum: retention must be a non-negative number of hours`);
  }
  if (retentionMs < tableRetentionMs && !options.force) {
    throw new LakehouseError(
      'UNSAFE_OPERATION',
      `vacuum: a retention of ${retentionMs / HOUR} hours is shorter than the table's ` +
        `delta.deletedFileRetentionDuration (${tableRetentionMs / HOUR} hours). Readers of older versions and ` +
        `writers still committing could lose files. Use a longer retention, or pass --force if no one reads ` +
        `versions older than that and no write is in flight.`,
    );
  }
  const cutoff = now - retentionMs;

  const root = rootPathOf(store);
  const rel = (p: string): string => canonicalPath(dataFilePath(p), root);
  // Everything a snapshot reads.
  const liveFiles = (snap: Snapshot): Set<string> => {
    const live = new Set<string>();
    for (const add of snap.activeFilesIterator()) {
      live.add(rel(add.path));
      if (add.deletionVector && add.deletionVector.storageType !== 'i')
        live.add(rel(deletionVectorPath(add.deletionVector)));
    }
    return live;
  };

  // 1. List (skipping what the snapshot loaded above reads, to keep the candidates few).
  let live = liveFiles(snapshot);
  let listed: ObjectMeta[] = [];
  let scanned = 0;
  const listing = options.listing ?? store.list('');
  for await (const meta of listing) {
    scanned++;
    if (isProtectedPath(meta.path)) continue;
    if (live.has(meta.path)) continue;
    listed.push(meta);
  }
  // 2. Then the write leases, 3. then the log: in this order, a listed file of a write in flight
  // is either protected by its lease or added by a commit the log read below sees
  // (see delta/write-lease.ts).
  const leases = await readLiveLeases(store, now);
  const latest = await snapshot.update();
  if (latest.version !== snapshot.version) {
    live = liveFiles(latest);
    listed = listed.filter((m) => !live.has(m.path));
  }
  live = new Set(); // not needed any more
  // Tombstones still inside the window: an older version inside it reads them.
  const retainedTombstones = new Set<string>();
  for (const rm of latest.tombstones()) {
    if (rm.deletionTimestamp !== undefined && rm.deletionTimestamp !== null && rm.deletionTimestamp < cutoff)
      continue;
    retainedTombstones.add(rel(rm.path));
    if (rm.deletionVector && rm.deletionVector.storageType !== 'i') {
      retainedTombstones.add(rel(deletionVectorPath(rm.deletionVector)));
    }
  }
  const candidates: ObjectMeta[] = [];
  let keptForTimeTravel = 0;
  let keptTooYoung = 0;
  let keptInFlight = 0;
  for (const meta of listed) {
    if (retainedTombstones.has(meta.path)) keptForTimeTravel++;
    else if (meta.lastModified >= cutoff) keptTooYoung++;
    else if (meta.lastModified >= leases.protectFrom) keptInFlight++;
    else candidates.push(meta);
  }

  const metrics: VacuumMetrics = {
    version: latest.version,
    dryRun: Boolean(options.dryRun),
    retentionHours: retentionMs / HOUR,
    filesDeleted: candidates.length,
    bytesDeleted: candidates.reduce((s, m) => s + m.size, 0),
    deletedPaths: candidates.map((m) => m.path),
    filesKeptTooYoung: keptTooYoung,
    filesSkippedStale: 0,
    filesKeptForTimeTravel: keptForTimeTravel,
    filesKeptInFlight: keptInFlight,
    writesInFlight: leases.live.length,
    filesScanned: scanned,
    durationMs: 0,
  };
  if (options.dryRun) {
    if (options.verifyBeforeDelete ?? options.listing !== undefined) {
      // Report what a real run would delete: the listing's claims re-checked.
      const now = await mapLimit(candidates, HEADS_IN_FLIGHT, (m) =>
        store.head(m.path).catch(notFoundAsNull),
      );
      const fresh = candidates.flatMap((m, i) =>
        now[i] && now[i].lastModified < cutoff ? [{ ...m, size: now[i].size }] : [],
      );
      metrics.filesSkippedStale = candidates.length - fresh.length;
      metrics.filesDeleted = fresh.length;
      metrics.bytesDeleted = fresh.reduce((s, m) => s + m.size, 0);
      metrics.deletedPaths = fresh.map((m) => m.path);
    }
    metrics.durationMs = Date.now() - started;
    return metrics;
  }

  const parameters = {
    retentionCheckEnabled: !options.force,
    specifiedRetentionMillis: retentionMs,
    defaultRetentionMillis: tableRetentionMs,
  };
  await new Transaction(store, latest, {
    operation: 'VACUUM START',
    operationParameters: parameters,
    operationMetrics: { numFilesToDelete: candidates.length, sizeOfDataToDelete: metrics.bytesDeleted },
    isBlindAppend: false,
    autoCheckpoint: false,
    // commitInfo only: it conflicts with nothing, so losing races to ingest is no reason to give up.
    maxRetries: COMMIT_INFO_RETRIES,
  }).commit();

  const rate = options.maxDeletesPerSecond;
  if (rate !== undefined && !(rate > 0))
    throw new LakehouseError('INVALID_ARGUMENT', `vacuum: maxDeletesPerSecond must be positive, got ${rate}`);
  // A batch never holds more than a second's worth of deletes, so the rate holds per second.
  const batchSize = Math.max(
    1,
    Math.min(options.batchSize ?? 1000, rate === undefined ? Infinity : Math.ceil(rate)),
  );
  const verify = options.verifyBeforeDelete ?? options.listing !== undefined;
  const batches: ObjectMeta[][] = [];
  for (let i = 0; i < candidates.length; i += batchSize) batches.push(candidates.slice(i, i + batchSize));
  let deleted = 0;
  let bytesDeleted = 0;
  let stale = 0;
  const deletedPaths: string[] = [];
  let processed = 0;
  let nextSlot = Date.now();
  let nextBatch = 0;
  const worker = async (): Promise<void> => {
    while (nextBatch < batches.length) {
      const batch = batches[nextBatch++]!;
      if (rate !== undefined) {
        // Token schedule shared by the workers: each batch books its share of a second.
        const start = Math.max(nextSlot, Date.now());
        nextSlot = start + (batch.length / rate) * 1000;
        if (start > Date.now()) await new Promise((r) => setTimeout(r, start - Date.now()));
      }
      let paths = batch;
      if (verify) {
        const fresh = await mapLimit(batch, HEADS_IN_FLIGHT, (m) => store.head(m.path).catch(notFoundAsNull));
        paths = [];
        fresh.forEach((now, i) => {
          if (now && now.lastModified < cutoff) paths.push({ ...batch[i]!, size: now.size });
          else stale++;
        });
      }
      if (paths.length) await store.deleteMany(paths.map((m) => m.path));
      for (const m of paths) deletedPaths.push(m.path);
      deleted += paths.length;
      bytesDeleted += paths.reduce((sum, m) => sum + m.size, 0);
      processed += batch.length;
      options.onProgress?.(processed, candidates.length);
    }
  };
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
  // Temporary files of puts killed mid-way (local disk), by the same cutoff but never younger
  // than a write lease's TTL: at retention 0 the cutoff is now, and a live put (a lease renewal
  // among them) may be between writing its temporary file and renaming it.
  if (store.removeAbandonedTemporaryFiles)
    metrics.temporaryFilesDeleted = (
      await store.removeAbandonedTemporaryFiles(Math.min(cutoff, now - LEASE_TTL_MS))
    ).length;
  if (verify) {
    metrics.filesSkippedStale = stale;
    metrics.filesDeleted = deleted;
    metrics.bytesDeleted = bytesDeleted;
    metrics.deletedPaths = deletedPaths.sort();
  }

  // Lease files of writers killed long ago (a live writer's lease is never touched).
  if (leases.expired.length) await store.deleteMany(leases.expired);
  await new Transaction(store, await latest.update(), {
    operation: 'VACUUM END',
    operationParameters: { status: 'COMPLETED' },
    operationMetrics: { numDeletedFiles: deleted, numVacuumedDirectories: 0 },
    isBlindAppend: false,
    maxRetries: COMMIT_INFO_RETRIES,
  }).commit();
  metrics.durationMs = Date.now() - started;
  return metrics;
}

/**
 * Paths VACUUM never deletes: the log, and hidden files or folders (`_x`, `.x`) other than
 * partition folders (`_col=1`) and `_change_data`.
 */
/** `head` requests in flight per delete batch while re-checking a listing. */
const HEADS_IN_FLIGHT = 16;

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}

function notFoundAsNull(err: unknown): null {
  if (isLakehouseError(err, 'NOT_FOUND')) return null;
  throw err;
}

export function isProtectedPath(path: string): boolean {
  if (path === LOG_DIR || path.startsWith(`${LOG_DIR}/`)) return true;
  for (const part of path.split('/')) {
    if (part === '_change_data') continue;
    if ((part.startsWith('_') || part.startsWith('.')) && !part.includes('=')) return true;
  }
  return false;
}
