import type { ObjectStore } from '../storage/object-store.js';
import { writeCheckpoint as writeLogCheckpoint, type CheckpointResult } from '../delta/checkpoint-write.js';
import { cleanupExpiredLogs, type CleanupResult } from '../delta/log-cleanup.js';
import { Snapshot } from '../delta/snapshot.js';
import { LakehouseError } from '../errors.js';
import { availableUnder, formatMiB, GC_HEADROOM, limitFor, residentBytes } from './memory-budget.js';

export interface CheckpointOpOptions {
  /**
   * Peak memory (bytes) the process may reach; default none. After the snapshot is loaded (it is
   * part of what the process holds), the checkpoint's row groups are sized from the actions'
   * bytes so that one row group (what the streaming writer holds) fits; when not even a small
   * one fits it refuses (MEMORY_LIMIT) before writing anything.
   */
  memoryLimit?: number;
}

export interface CheckpointOpResult extends CheckpointResult {
  /** With `memoryLimit`: the plan the run was admitted with. */
  memory?: {
    memoryLimit: number;
    estimatedPeakMemory: number;
    actionBytes: number;
    rowGroupRows: number;
  };
}

/** Writer memory per byte of a row group's action data: shredded values, levels, encoded pages. */
export const CHECKPOINT_ROW_GROUP_FACTOR = 4;
/** Upload buffers of the streamed checkpoint (multipart parts in flight). */
export const CHECKPOINT_STREAM_BUFFER_BYTES = 16 * 1024 * 1024;
/** Rows per checkpoint row group when memory allows (the writer's default). */
export const CHECKPOINT_ROW_GROUP_ROWS = 131_072;
/** The smallest row group worth writing under a memory cap. */
const MIN_ROW_GROUP_ROWS = 1024;

/** Bytes of action data a checkpoint of `snapshot` holds: paths, stats, partition values, fixed fields. */
export function checkpointActionBytes(snapshot: Snapshot): { actions: number; bytes: number } {
  let actions = 2;
  let bytes = snapshot.metadata.schemaString.length + 1024;
  for (const add of snapshot.activeFilesIterator()) {
    actions++;
    bytes += 96 + add.path.length + (add.stats?.length ?? 0);
    for (const [k, v] of Object.entries(add.partitionValues)) bytes += 8 + k.length + (v?.length ?? 0);
  }
  for (const rm of snapshot.tombstones()) {
    actions++;
    bytes += 64 + rm.path.length;
  }
  return { actions, bytes };
}

/**
 * CHECKPOINT: write a classic Parquet checkpoint of the latest version now and point
 * `_last_checkpoint` at it. Readers open the table from it instead of replaying every commit.
 * Safe at any time: a checkpoint only summarizes commits that exist; a crash leaves at most an
 * unreferenced checkpoint file, and `_last_checkpoint` is only a hint readers verify.
 * With `memoryLimit`, row groups are sized to fit, or it refuses up front (MEMORY_LIMIT).
 */
export async function checkpoint(
  store: ObjectStore,
  options: CheckpointOpOptions = {},
): Promise<CheckpointOpResult> {
  const snapshot = await Snapshot.load(store);
  if (options.memoryLimit === undefined) return writeLogCheckpoint(store, snapshot);
  const limit = options.memoryLimit;
  const baseline = residentBytes();
  const { actions, bytes } = checkpointActionBytes(snapshot);
  const perRow = (bytes / actions) * CHECKPOINT_ROW_GROUP_FACTOR;
  const available = availableUnder(limit, baseline, CHECKPOINT_STREAM_BUFFER_BYTES);
  const rowsThatFit = Math.floor(available / perRow);
  const minRows = Math.min(actions, MIN_ROW_GROUP_ROWS);
  if (!(rowsThatFit >= minRows)) {
    const need = CHECKPOINT_STREAM_BUFFER_BYTES + minRows * perRow;
    throw new LakehouseError(
      'MEMORY_LIMIT',
      `checkpoint: --memory-limit ${formatMiB(limit)} is too small: with version ${snapshot.version} loaded this process uses ` +
        `${formatMiB(baseline)}, and writing a checkpoint of its ${actions} actions (${formatMiB(bytes)} of paths and statistics) ` +
        `row group by row group needs about ${formatMiB(need)} more, with ${Math.round(GC_HEADROOM * 100)}% kept free for garbage ` +
        `collection; raise --memory-limit to at least ${formatMiB(limitFor(baseline + need))}, or compact the table first (fewer files, fewer actions)`,
    );
  }
  const rowGroupRows = Math.min(CHECKPOINT_ROW_GROUP_ROWS, rowsThatFit);
  const result = await writeLogCheckpoint(store, snapshot, { rowGroupRows });
  return {
    ...result,
    memory: {
      memoryLimit: limit,
      estimatedPeakMemory:
        baseline + CHECKPOINT_STREAM_BUFFER_BYTES + Math.min(rowGroupRows, actions) * perRow,
      actionBytes: bytes,
      rowGroupRows,
    },
  };
}

/**
 * CLEANUP-LOG: delete log files older than `delta.logRetentionDuration` (default 30 days), only
 * behind a checkpoint, so every version that remains can still be loaded. Time travel to the
 * deleted versions is no longer possible.
 */
export async function cleanupLog(
  store: ObjectStore,
  options: { dryRun?: boolean; now?: number } = {},
): Promise<CleanupResult> {
  const snap = await Snapshot.load(store);
  return cleanupExpiredLogs(store, snap.properties, options);
}
