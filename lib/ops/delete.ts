import type { AddAction } from '../delta/actions.js';
import { assertWritable, supportsFeature } from '../delta/features.js';
import { Snapshot } from '../delta/snapshot.js';
import { Transaction } from '../delta/transaction.js';
import { type Expr, formatFilter, parseFilter } from '../data/expr.js';
import { mightMatch } from '../data/expr-eval.js';
import type { ParquetCompression } from '../data/parquet-io.js';
import type { ObjectStore } from '../storage/object-store.js';
import { removeMatchingRows } from './rewrite.js';
import { WriteLease } from '../delta/write-lease.js';

/**
 * DELETE: remove the rows for which a predicate is true (every row without one).
 *
 * Safety rules:
 * - Files the predicate provably covers (by partition values; statistics are never trusted to
 *   delete rows) are removed whole;
 *   files it provably misses are not touched; the others are rewritten without the matching rows
 *   (copy-on-write; rows where the predicate is null are kept, as in SQL) — or, on tables with
 *   deletion vectors enabled (`delta.enableDeletionVectors=true` and the feature in the
 *   protocol), keep their data file and get a deletion vector marking the matching rows.
 * - New files are written first, then one `DELETE` commit removes the old ones and adds the new;
 *   a crash before it leaves only unreferenced files. Nothing is committed when no row matches.
 * - Conflicts: the commit reads the files the predicate selects; a concurrent commit that removed
 *   one of them or added a file the predicate may match fails this one (CONCURRENT_DELETE_READ,
 *   CONCURRENT_APPEND) rather than leave rows that should have been deleted.
 * - Refused on append-only tables (`delta.appendOnly=true`).
 */
export interface DeleteOptions {
  /** Filter expression (the CLI's language) or a parsed `Expr`; absent: delete every row. */
  predicate?: string | Expr;
  /** Codec of rewritten files; default `snappy`. */
  compression?: ParquetCompression;
  /** Target size of rewritten files; default 128 MiB. */
  targetFileSize?: number;
  /** Extra commitInfo fields. */
  commitInfo?: Record<string, unknown>;
}

export interface DeleteMetrics {
  /** The committed version, or the unchanged current version when nothing matched. */
  version: number;
  /** False when no row matched and nothing was committed. */
  committed: boolean;
  numDeletedRows: number;
  numRemovedFiles: number;
  numAddedFiles: number;
  numCopiedRows: number;
  /** Files that got a deletion vector instead of being rewritten. */
  numDeletionVectorsAdded: number;
  /** Files read to find matching rows. */
  numFilesScanned: number;
  /** Files skipped by partition values or statistics. */
  numFilesSkipped: number;
  executionTimeMs: number;
}

export async function deleteRows(store: ObjectStore, options: DeleteOptions = {}): Promise<DeleteMetrics> {
  const started = Date.now();
  const predicate =
    typeof options.predicate === 'string' ? parseFilter(options.predicate) : options.predicate;
  const snapshot = await Snapshot.load(store);
  assertWritable(snapshot.protocol, snapshot.metadata, { removesData: true });
  const useDeletionVectors =
    supportsFeature(snapshot.protocol, 'deletionVectors') &&
    snapshot.properties['delta.enableDeletionVectors'] === 'true';
  const lease = new WriteLease(store, 'DELETE');
  try {
    return await deleteAndCommit();
  } finally {
    await lease.release();
  }

  async function deleteAndCommit(): Promise<DeleteMetrics> {
    const result = await removeMatchingRows(
      store,
      snapshot,
      predicate,
      {
        compression: options.compression,
        targetFileSize: options.targetFileSize,
        numIndexedCols: Number(snapshot.properties['delta.dataSkippingNumIndexedCols'] ?? 32),
        lease,
      },
      { deletionVectors: useDeletionVectors },
    );
    const metrics: DeleteMetrics = {
      version: snapshot.version,
      committed: false,
      numDeletedRows: result.numDeletedRows,
      numRemovedFiles: result.numRemovedFiles,
      numAddedFiles: result.numAddedFiles,
      numCopiedRows: result.numCopiedRows,
      numDeletionVectorsAdded: result.numDeletionVectorsAdded,
      numFilesScanned: result.filesScanned,
      numFilesSkipped: result.filesSkipped,
      executionTimeMs: 0,
    };
    if (result.removes.length === 0) {
      metrics.executionTimeMs = Date.now() - started;
      return metrics;
    }
    const table = {
      schema: snapshot.schema,
      partitionColumns: snapshot.partitionColumns,
      mode: snapshot.columnMappingMode,
    };
    const tx = new Transaction(store, snapshot, {
      operation: 'DELETE',
      operationParameters: { predicate: JSON.stringify(predicate ? [formatFilter(predicate)] : []) },
      operationMetrics: {
        numDeletedRows: String(result.numDeletedRows),
        numRemovedFiles: String(result.numRemovedFiles),
        numAddedFiles: String(result.numAddedFiles),
        numCopiedRows: String(result.numCopiedRows),
        numDeletionVectorsAdded: String(result.numDeletionVectorsAdded),
        executionTimeMs: String(Date.now() - started),
      },
      readFiles: result.readFiles,
      ...(predicate
        ? { readPredicate: (add: AddAction) => mightMatch(predicate, add, table) }
        : { readWholeTable: true }),
      ...(options.commitInfo ? { commitInfo: options.commitInfo } : {}),
    });
    tx.addActions([...result.removes.map((remove) => ({ remove })), ...result.adds.map((add) => ({ add }))]);
    lease.assertHeld();
    const committed = await tx.commit();
    metrics.version = committed.version;
    metrics.committed = true;
    metrics.executionTimeMs = Date.now() - started;
    return metrics;
  }
}
