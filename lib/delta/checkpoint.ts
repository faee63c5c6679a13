/** Checkpoints: reading every kind the protocol defines, writing classic V1 checkpoints. */
export { readCheckpointActions, readParquetActions, type CheckpointReadOptions } from './checkpoint-read.js';
export { writeCheckpoint, type CheckpointOptions, type CheckpointResult } from './checkpoint-write.js';
export { readLastCheckpoint, writeLastCheckpoint, type LastCheckpoint } from './last-checkpoint.js';
