/**
 * The one place reconcile calls OPTIMIZE (`lib/ops/optimize.ts`), so the operator and the CLI
 * compact the same way.
 */
import { optimize } from '../ops/optimize.js';
import type { ObjectStore } from '../storage/object-store.js';

export interface CompactionRequest {
  readonly targetFileSizeBytes: number;
  readonly minFileSizeBytes: number;
  /** Z-order by these columns (empty: bin-packing only). */
  readonly zOrderBy: readonly string[];
  /** Peak memory (bytes) the process may reach while compacting; default none. */
  readonly memoryLimit?: number;
}

export interface CompactionResult {
  /** The last version committed (the table's version when nothing was committed). */
  readonly version: number;
  /** Versions of the OPTIMIZE commits; empty when there was nothing to merge. */
  readonly commits: readonly number[];
  readonly filesAdded: number;
  readonly filesRemoved: number;
  readonly bytesAdded: number;
  readonly bytesRemoved: number;
  readonly partitionsOptimized: number;
  /** The memory limit OPTIMIZE planned under (bytes); null: none. */
  readonly memoryLimit: number | null;
  /** OPTIMIZE's estimate of the run's peak memory (bytes). */
  readonly estimatedPeakMemory: number;
}

/**
 * Compact the table's small files (and Z-order when asked) with OPTIMIZE: incremental, so files
 * already at size and partitions already clustered are left alone. OPTIMIZE's errors propagate
 * (a concurrent writer never loses data: see `optimize`).
 */
export async function compactTable(
  store: ObjectStore,
  request: CompactionRequest,
): Promise<CompactionResult> {
  const m = await optimize(store, {
    targetFileSize: request.targetFileSizeBytes,
    minFileSize: request.minFileSizeBytes,
    ...(request.zOrderBy.length > 0 ? { zOrderBy: request.zOrderBy } : {}),
    ...(request.memoryLimit !== undefined ? { memoryLimit: request.memoryLimit } : {}),
  });
  return {
    version: m.version,
    commits: m.commits,
    filesAdded: m.numFilesAdded,
    filesRemoved: m.numFilesRemoved,
    bytesAdded: m.filesAdded.totalSize,
    bytesRemoved: m.filesRemoved.totalSize,
    partitionsOptimized: m.partitionsOptimized,
    memoryLimit: m.plan.memoryLimit,
    estimatedPeakMemory: m.plan.estimatedPeakMemory,
  };
}
