/**
 * The observed state of a table: what `plan` compares a LakeTable with. Measured from one
 * snapshot (no data file is read) and the newest commits' commitInfo (for when compaction and
 * vacuum last ran).
 */
import type { ProtocolAction } from '../delta/actions.js';
import { history } from '../delta/history.js';
import { parseInterval, tableProperty } from '../delta/properties.js';
import type { StructType } from '../delta/schema.js';
import { Snapshot } from '../delta/snapshot.js';
import { isLakehouseError } from '../errors.js';
import { smallFileCensus } from '../ops/health.js';
import type { ObjectStore } from '../storage/object-store.js';

/** A table as it is now. Times are ms since the epoch. */
export interface TableState {
  readonly location: string;
  readonly version: number;
  /** Commit time of the current version. */
  readonly timestamp: number;
  /** `metaData.createdTime`, else the oldest commit time seen. */
  readonly createdTime: number;
  readonly schema: StructType;
  readonly partitionColumns: readonly string[];
  readonly properties: Readonly<Record<string, string>>;
  readonly protocol: ProtocolAction;
  /** Active data files and their total size. */
  readonly files: number;
  readonly bytes: number;
  /** Files below `smallFileThresholdBytes`. */
  readonly smallFiles: number;
  /** Small files that share their partition with another small file: what compaction can merge. */
  readonly compactableSmallFiles: number;
  readonly smallFileThresholdBytes: number;
  /** Files removed from the table whose data files VACUUM has not deleted yet (tombstones). */
  readonly tombstones: number;
  /** Version of the checkpoint the snapshot was loaded from; null without one. */
  readonly lastCheckpointVersion: number | null;
  readonly lastCheckpointTime: number | null;
  /** Commits after the last checkpoint (all commits when there is none). */
  readonly commitsSinceCheckpoint: number;
  /** Time of the newest OPTIMIZE commit among the commits examined; null when none. */
  readonly lastCompactionTime: number | null;
  /** Time of the newest VACUUM END (or START) commit among the commits examined; null when none. */
  readonly lastVacuumTime: number | null;
  /** Time of the oldest commit examined: no compaction or vacuum since then when the above are null. */
  readonly historyFrom: number;
  /** Wall time to load the snapshot (list the log, read checkpoint and commits), ms. */
  readonly openLatestMs: number;
  /** The table's `delta.deletedFileRetentionDuration`, ms. */
  readonly retentionMs: number;
  /** Tombstones inside the retention window (time travel still reads them), and their bytes. */
  readonly removedFilesInRetention: number;
  readonly removedBytesInRetention: number;
}

export interface ObserveOptions {
  /** Files smaller than this are small (the LakeTable's `minFileSize`, resolved). */
  readonly minFileSizeBytes: number;
  /** Newest commits to examine for the last compaction and vacuum. Default 1000. */
  readonly historyLimit?: number;
}

/**
 * Measure the table at `store`'s root; null when there is no table there yet. Errors other than
 * NOT_A_TABLE (a corrupt log, an unsupported reader feature, storage failures) propagate.
 */
export async function observeTable(store: ObjectStore, options: ObserveOptions): Promise<TableState | null> {
  let snap: Snapshot;
  const openStart = performance.now();
  try {
    snap = await Snapshot.load(store);
  } catch (err) {
    if (isLakehouseError(err, 'NOT_A_TABLE')) return null;
    throw err;
  }
  const openLatestMs = performance.now() - openStart;
  const threshold = options.minFileSizeBytes;
  const {
    files,
    bytes,
    smallFiles: small,
    compactableSmallFiles: compactable,
  } = smallFileCensus(snap, threshold);

  let lastCompactionTime: number | null = null;
  let lastVacuumTime: number | null = null;
  let historyFrom = snap.timestamp;
  // Newest first; stop as soon as both are known, so a long history costs little.
  try {
    for await (const entry of history(store, { limit: options.historyLimit ?? 1000 })) {
      historyFrom = entry.timestamp;
      const op = entry.commitInfo?.operation;
      if (lastCompactionTime === null && op === 'OPTIMIZE') lastCompactionTime = entry.timestamp;
      if (lastVacuumTime === null && (op === 'VACUUM END' || op === 'VACUUM START'))
        lastVacuumTime = entry.timestamp;
      if (lastCompactionTime !== null && lastVacuumTime !== null) break;
    }
  } catch (err) {
    // Every commit file cleaned up behind a checkpoint: no history to read, the snapshot stands.
    if (!isLakehouseError(err, 'NOT_A_TABLE')) throw err;
  }
  const cp = snap.logSegment.checkpoint;
  const created = snap.metadata.createdTime;
  const tombstones = snap.tombstones();
  const retentionMs = parseInterval(
    tableProperty(snap.properties, 'delta.deletedFileRetentionDuration'),
    'delta.deletedFileRetentionDuration',
  );
  const cutoff = Date.now() - retentionMs;
  let removedFiles = 0;
  let removedBytes = 0;
  for (const rm of tombstones) {
    if (typeof rm.deletionTimestamp === 'number' && rm.deletionTimestamp < cutoff) continue;
    removedFiles++;
    removedBytes += rm.size ?? 0;
  }
  return {
    location: store.root,
    version: snap.version,
    timestamp: snap.timestamp,
    createdTime: typeof created === 'number' && created > 0 ? created : historyFrom,
    schema: snap.schema,
    partitionColumns: snap.partitionColumns,
    properties: snap.properties,
    protocol: snap.protocol,
    files,
    bytes,
    smallFiles: small,
    compactableSmallFiles: compactable,
    smallFileThresholdBytes: threshold,
    tombstones: tombstones.length,
    lastCheckpointVersion: cp?.version ?? null,
    lastCheckpointTime: cp ? cp.parts[0].lastModified : null,
    commitsSinceCheckpoint: snap.version - (cp?.version ?? -1),
    lastCompactionTime,
    lastVacuumTime,
    historyFrom,
    openLatestMs,
    retentionMs,
    removedFilesInRetention: removedFiles,
    removedBytesInRetention: removedBytes,
  };
}
