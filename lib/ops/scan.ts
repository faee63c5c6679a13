import type { RecordBatch, Schema } from 'apache-arrow';
import type { AddAction } from '../delta/actions.js';
import { deltaSchemaToArrow } from '../delta/arrow-schema.js';
import { Snapshot, rootPathOf } from '../delta/snapshot.js';
import { takeBatch } from '../data/arrow-build.js';
import { selectColumns } from '../data/conform.js';
import { type Expr, parseFilter, referencedColumns } from '../data/expr.js';
import { mightMatch, selectRows, type TableColumns } from '../data/expr-eval.js';
import { sharedParquetPool } from '../data/parquet-workers.js';
import { readDataFilesAhead, selectFields, type TableLayout } from '../data/reader.js';
import { LakehouseError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';

/**
 * READ (scan): the rows of a table at a version, as a stream of Arrow record batches.
 *
 * - The snapshot is the latest version, or `version`, or the version current at `timestamp`
 *   (VERSION_NOT_FOUND names the versions that remain). Reader features the kit does not support
 *   fail with UNSUPPORTED_READER_FEATURE naming them, before any data is read.
 * - `filter` keeps the rows for which it is true (SQL three-valued logic, see `lib/data/expr.ts`).
 *   Files whose partition values or statistics prove no row can match are never opened
 *   (`metrics.filesSkipped`).
 * - Columns come in `columns` order (default: the schema's), typed as `deltaSchemaToArrow` says;
 *   deletion vectors are applied, column mapping resolved, partition values filled in.
 * - Streaming: one file is read at a time, batch by batch; memory is bounded by a batch, never
 *   the table. With a Parquet worker pool (`parquet-workers.ts`) and files small enough to be read
 *   whole, up to one file per worker is decoded ahead: memory is then bounded by that many
 *   decoded files. `limit` stops reading once that many rows were produced.
 */
export interface ScanOptions {
  version?: number;
  /** ISO-8601 text, a Date, or milliseconds since the epoch. */
  timestamp?: Date | number | string;
  /** Top-level columns to return, in this order. Default: all. */
  columns?: readonly string[];
  /** A filter expression (text in the CLI's filter language, or a parsed `Expr`). */
  filter?: string | Expr;
  /** Stop after this many rows. */
  limit?: number;
  /** Rows per Parquet read batch; default 65,536. */
  batchSize?: number;
  /** Scan this snapshot instead of loading one. */
  snapshot?: Snapshot;
}

export interface ScanMetrics {
  version: number;
  filesTotal: number;
  filesScanned: number;
  filesSkipped: number;
  rowsReturned: number;
}

/** A planned scan: the files to read are chosen; iterate it (once) for the batches. */
export class TableScan implements AsyncIterable<RecordBatch> {
  readonly metrics: ScanMetrics;
  private started = false;

  constructor(
    private readonly store: ObjectStore,
    readonly snapshot: Snapshot,
    /** The Arrow schema of every batch. */
    readonly schema: Schema,
    /** The files that will be read (after partition pruning and data skipping). */
    readonly files: readonly AddAction[],
    private readonly layout: TableLayout,
    private readonly outputColumns: string[],
    private readonly readColumns: string[],
    private readonly filter: Expr | undefined,
    private readonly limit: number | undefined,
    private readonly batchSize: number | undefined,
    filesTotal: number,
    private readonly table: TableColumns,
  ) {
    this.metrics = {
      version: snapshot.version,
      filesTotal,
      filesScanned: 0,
      filesSkipped: filesTotal - files.length,
      rowsReturned: 0,
    };
  }

  /**
   * Each file's batches, in order. With a Parquet worker pool and several files that are read
   * whole, files are decoded ahead on the workers (up to one per worker beyond the one being
   * consumed, so memory holds at most that many decoded files) while the caller consumes.
   */
  private fileBatches(): AsyncGenerator<AsyncIterable<RecordBatch> | RecordBatch[]> {
    const pool = this.files.length > 1 ? sharedParquetPool() : undefined;
    return readDataFilesAhead(this.store, this.layout, this.files, {
      columns: this.readColumns,
      batchSize: this.batchSize,
      ...(this.filter ? { prune: { filter: this.filter, table: this.table } } : {}),
      ...(pool ? { pool } : {}),
    });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RecordBatch> {
    if (this.started)
      throw new LakehouseError('INVALID_ARGUMENT', 'scan: a TableScan can be iterated only once');
    this.started = true;
    const project = this.readColumns.length !== this.outputColumns.length;
    for await (const batches of this.fileBatches()) {
      this.metrics.filesScanned++;
      for await (let batch of batches) {
        if (this.filter) {
          const rows = selectRows(this.filter, batch);
          if (rows.length === 0) continue;
          if (rows.length < batch.numRows) batch = takeBatch(batch, rows);
        }
        if (project) batch = selectColumns(batch, this.outputColumns);
        if (this.limit !== undefined && this.metrics.rowsReturned + batch.numRows >= this.limit) {
          const keep = this.limit - this.metrics.rowsReturned;
          if (keep > 0) {
            this.metrics.rowsReturned += keep;
            yield keep < batch.numRows ? batch.slice(0, keep) : batch;
          }
          return;
        }
        this.metrics.rowsReturned += batch.numRows;
        yield batch;
      }
    }
  }
}

/** Plan a scan: load the snapshot, prune files. Iterate the result for the record batches. */
export async function scanTable(store: ObjectStore, options: ScanOptions = {}): Promise<TableScan> {
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 0)) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `scan: limit must be a non-negative integer, got ${options.limit}`,
    );
  }
  const snapshot =
    options.snapshot ??
    (await Snapshot.load(store, {
      ...(options.version !== undefined ? { version: options.version } : {}),
      ...(options.timestamp !== undefined ? { timestamp: options.timestamp } : {}),
    }));
  if (snapshot.schema.fields.length === 0) {
    throw new LakehouseError(
      'CORRUPT_LOG',
      `scan: the table at version ${snapshot.version} has no columns (its metaData has no schema); there is nothing to read`,
    );
  }
  const layout: TableLayout = {
    schema: snapshot.schema,
    partitionColumns: snapshot.partitionColumns,
    columnMappingMode: snapshot.columnMappingMode,
    rootPath: rootPathOf(store),
  };
  const filter = typeof options.filter === 'string' ? parseFilter(options.filter) : options.filter;
  const outputFields = selectFields(snapshot.schema, options.columns);
  const outputColumns = outputFields.map((f) => f.name);
  const readColumns = [...outputColumns];
  if (filter) {
    for (const ref of referencedColumns(filter)) {
      const f = selectFields(snapshot.schema, [ref[0]!])[0]!;
      if (!readColumns.includes(f.name)) readColumns.push(f.name);
    }
  }
  const table: TableColumns = {
    schema: snapshot.schema,
    partitionColumns: snapshot.partitionColumns,
    mode: snapshot.columnMappingMode,
  };
  const all = snapshot.activeFiles();
  // Deterministic order: by path (as Spark lists them), so repeated scans stream identically.
  all.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const files = filter ? all.filter((a) => mightMatch(filter, a, table)) : all;
  const schema = deltaSchemaToArrow({ type: 'struct', fields: outputFields });
  return new TableScan(
    store,
    snapshot,
    schema,
    files,
    layout,
    outputColumns,
    readColumns,
    filter,
    options.limit,
    options.batchSize,
    all.length,
    table,
  );
}
