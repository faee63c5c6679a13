/**
 * Reading one data file of a table as Arrow batches in the table's logical schema.
 *
 * Contract:
 * - Batches come out in file order with the requested columns in the requested order, typed
 *   exactly as `deltaSchemaToArrow(schema)` says (timestamps in microseconds, UTC or zone-less),
 *   whatever the writer of the file chose (INT96, nanoseconds, large strings, dictionaries).
 * - Partition columns are filled from `add.partitionValues`; columns the file lacks (added to the
 *   schema later) are null; under column mapping, file columns are found by Parquet field id
 *   (mode `id`) or physical name (mode `name`) and renamed to their logical names.
 * - Rows deleted by the file's deletion vector are left out.
 * - Only the needed column chunks are fetched, by byte range.
 */
import { makeData, RecordBatch, Schema, Struct } from 'apache-arrow';
import type { AddAction } from '../delta/actions.js';
import { canonicalPath } from '../delta/actions.js';
import { deltaSchemaToArrow } from '../delta/arrow-schema.js';
import { readDeletionVector } from '../delta/deletion-vector.js';
import {
  type ColumnMappingMode,
  physicalSchema,
  type StructField,
  type StructType,
} from '../delta/schema.js';
import { LakehouseError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { constantData, takeBatch } from './arrow-build.js';
import { conformBatch, FIELD_ID_KEY, retypeData } from './conform.js';
import type { Expr } from './expr.js';
import type { TableColumns } from './expr-eval.js';
import { candidateRowRanges } from './page-prune.js';
import { ParquetSource, WHOLE_FILE_DECODE_MAX_BYTES } from './parquet-io.js';
import type { ParquetPool } from './parquet-workers.js';
import { parsePartitionValue } from './partition.js';
import { physicalArrowField } from './writer.js';

export interface TableLayout {
  /** The table's logical schema. */
  schema: StructType;
  partitionColumns: readonly string[];
  columnMappingMode: ColumnMappingMode;
  /** The table root as a canonical path (`rootPathOf(store)`), to make absolute add paths relative. */
  rootPath: string;
}

export interface ReadFileOptions {
  /** Top-level logical columns to return, in this order; default all. */
  columns?: readonly string[];
  /** Rows per batch read from Parquet; default 65,536. */
  batchSize?: number;
  /**
   * A filter the caller applies to the rows afterwards: row groups and pages whose statistics
   * prove it false or NULL for every row are not decoded (`page-prune.ts`). Some returned rows
   * may still fail it. Ignored by `readDataFileWithPositions` and for files with a deletion vector.
   */
  prune?: { filter: Expr; table: TableColumns };
  /** Decode on these worker threads when the file is small enough to be read whole. */
  decodePool?: ParquetPool;
}

/** The store path of the file an add names, or an error when it lies outside the table. */
export function addFilePath(add: Pick<AddAction, 'path'>, rootPath: string): string {
  const p = canonicalPath(add.path, rootPath);
  if (p.startsWith('/') || /^[a-z][a-z0-9+.-]*:/i.test(p)) {
    throw new LakehouseError(
      'UNSUPPORTED_READER_FEATURE',
      `delta: data file ${add.path} lies outside the table root; reading files by absolute path outside the table is not supported`,
    );
  }
  return p;
}

/** The output fields (logical) for a column selection, in order. */
export function selectFields(schema: StructType, columns?: readonly string[]): StructField[] {
  if (!columns) return schema.fields;
  return columns.map((c) => {
    const f =
      schema.fields.find((x) => x.name === c) ??
      schema.fields.find((x) => x.name.toLowerCase() === c.toLowerCase());
    if (!f) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `no column ${c}; columns are ${schema.fields.map((x) => x.name).join(', ')}`,
      );
    }
    return f;
  });
}

/** Stream one data file as logical batches. */
export async function* readDataFile(
  store: ObjectStore,
  layout: TableLayout,
  add: AddAction,
  options: ReadFileOptions = {},
): AsyncGenerator<RecordBatch> {
  for await (const { batch } of readFile(store, layout, add, options, options.prune ?? null)) yield batch;
}

/**
 * Like `readDataFile`, with each batch's row positions in the Parquet file (0-based, counting
 * rows the deletion vector removed), as deletion vectors address rows.
 */
export async function* readDataFileWithPositions(
  store: ObjectStore,
  layout: TableLayout,
  add: AddAction,
  options: ReadFileOptions = {},
): AsyncGenerator<{ batch: RecordBatch; positions: number[] }> {
  yield* readFile(store, layout, add, options, undefined);
}

async function* readFile(
  store: ObjectStore,
  layout: TableLayout,
  add: AddAction,
  options: ReadFileOptions,
  /** null: the caller drops positions (and pruning is off). */
  prune: ReadFileOptions['prune'] | null,
): AsyncGenerator<{ batch: RecordBatch; positions: number[] }> {
  const mode = layout.columnMappingMode;
  const fields = selectFields(layout.schema, options.columns);
  const logicalSchema = deltaSchemaToArrow({ type: 'struct', fields });
  const physical = physicalSchema({ type: 'struct', fields }, mode).fields;
  const isPartition = fields.map((f) =>
    layout.partitionColumns.some((c) => c.toLowerCase() === f.name.toLowerCase()),
  );
  const dataPos = fields.map((_, i) => i).filter((i) => !isPartition[i]);
  const targetFields = dataPos.map((i) => physicalArrowField(physical[i]!, mode, mode === 'id'));
  const target = new Schema(targetFields);

  const path = addFilePath(add, layout.rootPath);
  const src = await ParquetSource.open(store, path, add.size > 0 ? add.size : undefined);
  try {
    const fileFields = src.columns();
    // Project to the file columns we need (matched as conformBatch matches them).
    const wanted: string[] = [];
    for (const tf of targetFields) {
      const id = tf.metadata.get(FIELD_ID_KEY);
      const byId = mode === 'id' && id !== undefined ? fileFields.find((f) => f.fieldId === id) : undefined;
      const match =
        byId ??
        fileFields.find((f) => f.name === tf.name) ??
        fileFields.find((f) => f.name.toLowerCase() === tf.name.toLowerCase());
      if (match) wanted.push(match.name);
    }
    // A file must still yield its row count when no stored column is wanted.
    const projection = wanted.length > 0 ? wanted : fileFields.length > 0 ? [fileFields[0]!.name] : [];
    const deleted = add.deletionVector ? await readDeletionVector(store, add.deletionVector) : undefined;
    const partitionValues = fields.map((f, i) =>
      isPartition[i]
        ? parsePartitionValue(
            f.type,
            add.partitionValues[physical[i]!.name] ?? add.partitionValues[f.name] ?? null,
            f.name,
          )
        : undefined,
    );
    // Positions count every row of the file, so row ranges are only used where none are needed.
    const rowRanges =
      prune && !deleted
        ? await candidateRowRanges(src, prune.filter, prune.table, add.partitionValues)
        : undefined;
    let rowOffset = 0;
    for await (const raw of src.batches({
      columns: projection,
      batchSize: options.batchSize,
      ...(rowRanges ? { rowRanges } : {}),
      ...(options.decodePool ? { decodePool: options.decodePool } : {}),
    })) {
      const n = raw.numRows;
      const conformed = conformBatch(raw, target);
      let d = 0;
      const children = fields.map((f, i) => {
        if (isPartition[i]) return constantData(logicalSchema.fields[i]!.type, partitionValues[i], n, f.name);
        return retypeData(conformed.data.children[d++]!, logicalSchema.fields[i]!.type);
      });
      let batch = new RecordBatch(
        logicalSchema,
        makeData({ type: new Struct(logicalSchema.fields), length: n, nullCount: 0, children }),
      );
      let positions: number[];
      if (deleted && deleted.size > 0) {
        const mask = deleted.keepMask(rowOffset, n);
        const keep: number[] = [];
        for (let i = 0; i < n; i++) if (mask[i]) keep.push(i);
        if (keep.length < n) batch = takeBatch(batch, keep);
        positions = keep.map((i) => rowOffset + i);
      } else {
        // Built only for callers that want them (readDataFile drops them).
        positions = prune === undefined ? Array.from({ length: n }, (_, i) => rowOffset + i) : [];
      }
      rowOffset += n;
      if (batch.numRows > 0) yield { batch, positions };
    }
  } finally {
    src.close();
  }
}

/**
 * The batches of several data files, in order, decoded ahead on a Parquet worker pool: while the
 * caller consumes one file, up to `ahead` more are being decoded (one per worker keeps every
 * worker busy). Memory holds at most `ahead + 1` decoded files, so callers under a memory budget
 * pass no pool (then files are read one at a time, batch by batch, in this thread). Files too
 * large to be read whole are streamed in this thread whatever the pool.
 */
export async function* readDataFilesAhead(
  store: ObjectStore,
  layout: TableLayout,
  files: readonly AddAction[],
  options: Omit<ReadFileOptions, 'decodePool'> & { pool?: ParquetPool; ahead?: number } = {},
): AsyncGenerator<RecordBatch[] | AsyncIterable<RecordBatch>> {
  const { pool, ahead: aheadWanted, ...readOptions } = options;
  const usePool =
    pool !== undefined && files.every((f) => f.size > 0 && f.size <= WHOLE_FILE_DECODE_MAX_BYTES);
  const read = (add: AddAction): AsyncIterable<RecordBatch> =>
    readDataFile(store, layout, add, usePool ? { ...readOptions, decodePool: pool } : readOptions);
  if (!usePool) {
    for (const add of files) yield read(add);
    return;
  }
  pool.warm();
  const ahead = Math.max(1, aheadWanted ?? pool.size);
  const pending: Promise<RecordBatch[]>[] = [];
  let next = 0;
  const fill = (): void => {
    while (next < files.length && pending.length <= ahead) pending.push(collectBatches(read(files[next++]!)));
  };
  try {
    fill();
    while (pending.length > 0) {
      const batches = await pending.shift()!;
      fill();
      yield batches;
    }
  } finally {
    // An abandoned read-ahead (the caller stopped or failed) must not reject unobserved.
    for (const p of pending) p.catch(() => {});
  }
}

/** All batches of one file; a failure rejects when awaited (and is never unhandled before). */
function collectBatches(it: AsyncIterable<RecordBatch>): Promise<RecordBatch[]> {
  const done = (async () => {
    const out: RecordBatch[] = [];
    for await (const b of it) out.push(b);
    return out;
  })();
  done.catch(() => {});
  return done;
}
