import type { ObjectStore } from '../storage/object-store.js';
import { writeCheckpoint as writeLogCheckpoint, type CheckpointResult } from '../delta/checkpoint-write.js';
import { cleanupExpiredLogs, type CleanupResult } from '../delta/log-cleanup.js';
import { Snapshot } from '../delta/snapshot.js';

/**
 * CHECKPOINT: write a classic Parquet checkpoint of the latest version now and point
 * `_last_checkpoint` at it. Readers open the table from it instead of replaying every commit.
 * Safe at any time: a checkpoint only summarizes commits that exist; a crash leaves at most an
 * unreferenced checkpoint file, and `_last_checkpoint` is only a hint readers verify.
 */
export async function checkpoint(store: ObjectStore): Promise<CheckpointResult> {
  return writeLogCheckpoint(store, await Snapshot.load(store));
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
