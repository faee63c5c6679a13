/** The Delta transaction log: public API. */
export * from './actions.js';
export * from './schema.js';
export * from './features.js';
export * from './snapshot.js';
export * from './transaction.js';
export * from './conflict.js';
export * from './history.js';
export * from './deletion-vector.js';
export * from './properties.js';
export { writeCheckpoint, type CheckpointResult, type CheckpointOptions } from './checkpoint-write.js';
export { readCheckpointActions, readParquetActions } from './checkpoint-read.js';
export {
  readLastCheckpoint,
  writeLastCheckpoint,
  lastCheckpointChecksum,
  canonicalizeJson,
  type LastCheckpoint,
} from './last-checkpoint.js';
export { buildLogSegment, availableVersions, type LogSegment } from './log-segment.js';
export { cleanupExpiredLogs, type CleanupResult } from './log-cleanup.js';
export * from './log-path.js';
export { readCommit } from './replay.js';
