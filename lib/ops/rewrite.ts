import type { RecordBatch } from 'apache-arrow';
import { randomUUID } from 'node:crypto';
import type { WriteLease } from '../delta/write-lease.js';
import {
  type AddAction,
  type DeletionVectorDescriptor,
  removeFor,
  type RemoveAction,
} from '../delta/actions.js';
import {
  deletionVectorPath,
  encodeDeletionVectorFile,
  readDeletionVector,
  serializeRoaringBitmapArray,
  z85Encode,
} from '../delta/deletion-vector.js';
import type { Snapshot } from '../delta/snapshot.js';
import { rootPathOf } from '../delta/snapshot.js';
import { takeBatch } from '../data/arrow-build.js';
import { type Expr, referencedColumns } from '../data/expr.js';
import {
  coversFile,
  evaluateBatch,
  mightMatch,
  onlyPartitionColumns,
  parseStats,
} from '../data/expr-eval.js';
import { ParquetSource } from '../data/parquet-io.js';
import { addFilePath, readDataFile, readDataFileWithPositions, type TableLayout } from '../data/reader.js';
import { DataFileWriter, type DataWriterOptions } from '../data/writer.js';
import type { ObjectStore } from '../storage/object-store.js';

/**
 * Removing the rows a predicate matches from the active files of a snapshot — the shared core of
 * DELETE and of overwrite with `replaceWhere`.
 *
 * - A file whose partition values prove every row matches is removed whole, unread (only for
 *   predicates on partition columns alone: statistics are never trusted to delete rows).
 * - A file that provably has no match is left alone, unread.
 * - Any other file is read (deletion vector applied); if some row matches, the file is removed
 *   and its other rows (those for which the predicate is false or null) are written to new
 *   files; if none matches, it is left alone. Kept rows are held in memory only until the first
 *   match in that file is seen.
 * - With `deletionVectors` (tables with the feature enabled) a partly matching file is not
 *   rewritten: its matching row positions, merged with its current deletion vector, go into a new
 *   DV file (`deletion_vector_<uuid>.bin`), and the file is re-added with that DV and
 *   `tightBounds: false` statistics; a file whose every live row matches is removed.
 * - Nothing is committed: the caller commits `adds` and `removes` in one transaction, with
 *   `readFiles` as the files whose content it depended on.
 */
export interface RemoveRowsResult {
  adds: AddAction[];
  removes: RemoveAction[];
  /** Paths of every file read or removed (the transaction's read set). */
  readFiles: string[];
  numDeletedRows: number;
  numCopiedRows: number;
  numRemovedFiles: number;
  numAddedFiles: number;
  /** Files that got a (new or larger) deletion vector instead of being rewritten. */
  numDeletionVectorsAdded: number;
  filesScanned: number;
  filesSkipped: number;
}

export function tableLayout(store: ObjectStore, snapshot: Snapshot): TableLayout {
  return {
    schema: snapshot.schema,
    partitionColumns: snapshot.partitionColumns,
    columnMappingMode: snapshot.columnMappingMode,
    rootPath: rootPathOf(store),
  };
}

/** The number of live rows of a file: statistics when present, else the Parquet footer. */
async function liveRows(store: ObjectStore, layout: TableLayout, add: AddAction): Promise<number> {
  const stats = parseStats(add.stats);
  let rows = typeof stats?.numRecords === 'number' ? stats.numRecords : undefined;
  if (rows === undefined) {
    const src = await ParquetSource.open(store, addFilePath(add, layout.rootPath), add.size);
    rows = src.numRows;
    src.close();
  }
  return rows - (add.deletionVector?.cardinality ?? 0);
}

export async function removeMatchingRows(
  store: ObjectStore,
  snapshot: Snapshot,
  predicate: Expr | undefined,
  writerOptions: Omit<DataWriterOptions, 'schema' | 'partitionColumns' | 'columnMappingMode'>,
  options: { deletionVectors?: boolean } = {},
): Promise<RemoveRowsResult> {
  const layout = tableLayout(store, snapshot);
  const table = {
    schema: snapshot.schema,
    partitionColumns: snapshot.partitionColumns,
    mode: snapshot.columnMappingMode,
  };
  const writer = new DataFileWriter(store, {
    ...writerOptions,
    schema: snapshot.schema,
    partitionColumns: snapshot.partitionColumns,
    columnMappingMode: snapshot.columnMappingMode,
  });
  const result: RemoveRowsResult = {
    adds: [],
    removes: [],
    readFiles: [],
    numDeletedRows: 0,
    numCopiedRows: 0,
    numRemovedFiles: 0,
    numAddedFiles: 0,
    numDeletionVectorsAdded: 0,
    filesScanned: 0,
    filesSkipped: 0,
  };
  const now = Date.now();
  // Whole files are dropped unread only on partition values, which are exact. Statistics could
  // prove it too, but a wrong statistic (some writers' are) would then delete rows that do not
  // match; Spark takes the same line.
  const partitionOnly =
    !!predicate && onlyPartitionColumns(referencedColumns(predicate), snapshot.partitionColumns);
  for (const add of snapshot.activeFiles()) {
    if (!predicate || (partitionOnly && coversFile(predicate, add, table))) {
      result.numDeletedRows += await liveRows(store, layout, add);
      result.removes.push(removeFor(add, { deletionTimestamp: now }));
      result.readFiles.push(add.path);
      continue;
    }
    if (!mightMatch(predicate, add, table)) {
      result.filesSkipped++;
      continue;
    }
    result.filesScanned++;
    result.readFiles.push(add.path);
    if (options.deletionVectors) {
      await markDeleted(store, layout, add, predicate, now, result, writerOptions.lease);
      continue;
    }
    let held: RecordBatch[] = [];
    let deleted = 0;
    let kept = 0;
    for await (const batch of readDataFile(store, layout, add)) {
      const truth = evaluateBatch(predicate, batch);
      const keep: number[] = [];
      for (let i = 0; i < truth.length; i++) if (truth[i] !== 1) keep.push(i);
      deleted += batch.numRows - keep.length;
      kept += keep.length;
      const rest = keep.length === batch.numRows ? batch : takeBatch(batch, keep);
      if (deleted === 0) {
        held.push(rest);
        continue;
      }
      for (const h of held) await writer.write(h);
      held = [];
      if (rest.numRows > 0) await writer.write(rest);
    }
    if (deleted > 0) {
      result.numDeletedRows += deleted;
      result.numCopiedRows += kept;
      result.removes.push(removeFor(add, { deletionTimestamp: now }));
    }
  }
  result.adds.push(...(await writer.finish()));
  result.numRemovedFiles = result.removes.length;
  result.numAddedFiles = result.adds.length;
  return result;
}

/** `stats` with `tightBounds: false` (bounds stay valid, they may just be wider than the live rows). */
function looseStats(stats: string | null | undefined): string | undefined {
  if (!stats) return undefined;
  if (stats.includes('"tightBounds":false')) return stats;
  if (stats.includes('"tightBounds":true')) return stats.replace('"tightBounds":true', '"tightBounds":false');
  return stats.replace(/}\s*$/, ',"tightBounds":false}');
}

/** Delete the matching rows of one file with a deletion vector (see `removeMatchingRows`). */
async function markDeleted(
  store: ObjectStore,
  layout: TableLayout,
  add: AddAction,
  predicate: Expr,
  now: number,
  result: RemoveRowsResult,
  lease?: WriteLease,
): Promise<void> {
  const hits: number[] = [];
  let live = 0;
  for await (const { batch, positions } of readDataFileWithPositions(store, layout, add)) {
    const truth = evaluateBatch(predicate, batch);
    live += batch.numRows;
    for (let i = 0; i < truth.length; i++) if (truth[i] === 1) hits.push(positions[i]!);
  }
  if (hits.length === 0) return;
  result.numDeletedRows += hits.length;
  result.removes.push(removeFor(add, { deletionTimestamp: now }));
  if (hits.length === live) return;
  const previous = add.deletionVector ? (await readDeletionVector(store, add.deletionVector)).rows : [];
  const rows = [...new Set([...previous, ...hits])].sort((a, b) => a - b);
  const bitmap = serializeRoaringBitmapArray(rows);
  const uuid = randomUUID();
  const id = z85Encode(Buffer.from(uuid.replace(/-/g, ''), 'hex'));
  const dv: DeletionVectorDescriptor = {
    storageType: 'u',
    pathOrInlineDv: id,
    offset: 1,
    sizeInBytes: bitmap.length,
    cardinality: rows.length,
  };
  await lease?.ensure();
  await store.put(deletionVectorPath(dv), encodeDeletionVectorFile(bitmap));
  const stats = looseStats(add.stats);
  result.adds.push({
    ...add,
    modificationTime: now,
    dataChange: true,
    deletionVector: dv,
    ...(stats ? { stats } : {}),
  });
  result.numDeletionVectorsAdded++;
}
