import { RecordBatch, Table } from 'apache-arrow';
import type { Action, AddAction, MetadataAction, RemoveAction } from '../delta/actions.js';
import { removeFor } from '../delta/actions.js';
import { arrowSchemaToDelta, deltaSchemaToArrow } from '../delta/arrow-schema.js';
import { assertWritable, rowConstraints, supportsFeature } from '../delta/features.js';
import {
  assignColumnMapping,
  CM_MAX_ID,
  decimalParams,
  type DeltaType,
  isArray,
  isMap,
  isStruct,
  mergeSchemas,
  parseSchema,
  serializeSchema,
  type StructType,
  typeNames,
} from '../delta/schema.js';
import { Snapshot } from '../delta/snapshot.js';
import { Transaction } from '../delta/transaction.js';
import { WriteLease } from '../delta/write-lease.js';
import { conformBatch } from '../data/conform.js';
import { type Expr, formatFilter, parseFilter, referencedColumns } from '../data/expr.js';
import { evaluateBatch, fileTruth, onlyPartitionColumns, parseStats, T } from '../data/expr-eval.js';
import type { ParquetCompression } from '../data/parquet-io.js';
import { DataFileWriter, DEFAULT_TARGET_FILE_SIZE } from '../data/writer.js';
import { LakehouseError, isLakehouseError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { newTableActions } from './create.js';
import { planWriteMemory, type WriteMemoryPlan } from './memory-budget.js';
import { removeMatchingRows } from './rewrite.js';

/**
 * WRITE: add rows to a table (append), replace all of them (overwrite), or replace the rows a
 * predicate selects (overwrite with `replaceWhere`).
 *
 * Safety rules, in order:
 * 1. Idempotence: with `appId` and `appVersion`, a write whose version is not above the table's
 *    recorded `txn` version for that app is skipped (nothing written, `skipped: true`); the
 *    commit records the new version, and a concurrent commit by the same app conflicts.
 * 2. Schema enforcement happens on the first batch, before any file is written: the data's schema
 *    is checked against the table's (`mergeSchemas`): a type change, a missing non-nullable
 *    column or (without `mergeSchema`) a new column fails with SCHEMA_MISMATCH /
 *    SCHEMA_EVOLUTION_REFUSED naming every offending column. Lossless widenings (int → long,
 *    timestamp units, …) are accepted and cast. Every later batch is conformed the same way, and
 *    nulls in non-nullable columns, CHECK constraints, invariants and `replaceWhere` are checked
 *    row by row before its rows are buffered.
 * 3. Files are written first, then one commit adds them (and removes what an overwrite replaces).
 *    A failure at any point before the commit leaves only unreferenced files, which VACUUM
 *    removes; readers never see a partial write.
 * 4. Conflicts: an append is blind and commutes with other appends; an overwrite read the whole
 *    table, a `replaceWhere` the files its predicate selects, so a concurrent change there fails
 *    the commit (CONCURRENT_APPEND / CONCURRENT_DELETE_READ) instead of losing rows.
 *
 * Writing to a location without a table creates it (from the data's schema, `partitionBy` and
 * `properties`), as delta-rs and Spark do.
 */
export interface WriteOptions {
  /** Default `append`. */
  mode?: 'append' | 'overwrite';
  /** With `overwrite`: replace only the rows this predicate selects; every written row must match it. */
  replaceWhere?: string | Expr;
  /** Add new nullable columns found in the data to the table schema. */
  mergeSchema?: boolean;
  /** With `overwrite`: replace the table schema (and partitioning) with the data's. */
  overwriteSchema?: boolean;
  /** Partition columns when the write creates the table (or with `overwriteSchema`). */
  partitionBy?: readonly string[];
  /** Table properties when the write creates the table. */
  properties?: Record<string, string>;
  /** Idempotent writes: application id and a version that increases with each write. */
  appId?: string;
  appVersion?: number;
  /** Parquet codec; default `snappy`. */
  compression?: ParquetCompression;
  /** Target data file size in bytes; default 128 MiB. */
  targetFileSize?: number;
  /** Maximum rows per row group; default 1,048,576. */
  rowGroupRows?: number;
  /** Maximum bytes per row group; default none. */
  rowGroupBytes?: number;
  /** Extra commitInfo fields. */
  commitInfo?: Record<string, unknown>;
  /**
   * Peak memory (bytes) the process may reach; default none. Buffered rows are flushed early and
   * files capped (`planWriteMemory`) so the estimate stays under it; refuses up front
   * (MEMORY_LIMIT), before anything is written, when not even a 1 MiB file fits.
   */
  memoryLimit?: number;
}

export interface WriteMetrics {
  /** The committed version (the current one when skipped). */
  version: number;
  /** True when the app transaction version was already committed: nothing was written. */
  skipped: boolean;
  numFiles: number;
  numOutputRows: number;
  numOutputBytes: number;
  numRemovedFiles: number;
  /** Rows of replaced files kept by a `replaceWhere` overwrite (rewritten). */
  numCopiedRows: number;
  numDeletedRows: number;
  /** Whether this write changed the table schema. */
  schemaChanged: boolean;
  createdTable: boolean;
  /** With `memoryLimit`: the file size and buffer cap it was planned with. */
  memory?: WriteMemoryPlan;
}

export type WriteInput = RecordBatch | Table | Iterable<RecordBatch> | AsyncIterable<RecordBatch>;

async function* batchesOf(input: WriteInput): AsyncGenerator<RecordBatch> {
  if (input instanceof RecordBatch) {
    yield input;
  } else if (input instanceof Table) {
    yield* input.batches;
  } else if (Symbol.asyncIterator in (input as object)) {
    yield* input as AsyncIterable<RecordBatch>;
  } else if (Symbol.iterator in (input as object)) {
    yield* input as Iterable<RecordBatch>;
  } else {
    yield input as RecordBatch;
  }
}

const INT_ORDER = ['byte', 'short', 'integer', 'long'];

/** Can data of Delta type `from` be stored in a column of type `to` without loss? */
function castable(from: DeltaType, to: DeltaType): boolean {
  if (typeof from !== 'string' || typeof to !== 'string') return false;
  if (from === to) return true;
  const fi = INT_ORDER.indexOf(from);
  const ti = INT_ORDER.indexOf(to);
  if (fi >= 0 && ti >= 0) return fi <= ti;
  if (fi >= 0 && fi <= 2 && to === 'double') return true;
  if (fi >= 0 && fi <= 1 && to === 'float') return true;
  if (from === 'float' && to === 'double') return true;
  const df = decimalParams(from);
  const dt = decimalParams(to);
  if (df && dt) return dt.scale >= df.scale && dt.precision - dt.scale >= df.precision - df.scale;
  if (fi >= 0 && dt) return dt.precision - dt.scale >= [3, 5, 10, 19][fi]!;
  return false;
}

/** The incoming schema with every losslessly castable type replaced by the table's type. */
function harmonize(table: DeltaType, incoming: DeltaType): DeltaType {
  if (isStruct(table) && isStruct(incoming)) {
    return {
      type: 'struct',
      fields: incoming.fields.map((f) => {
        const t = table.fields.find((x) => x.name.toLowerCase() === f.name.toLowerCase());
        return t ? { ...f, name: t.name, type: harmonize(t.type, f.type) } : f;
      }),
    };
  }
  if (isArray(table) && isArray(incoming))
    return { ...incoming, elementType: harmonize(table.elementType, incoming.elementType) };
  if (isMap(table) && isMap(incoming)) {
    return {
      ...incoming,
      keyType: harmonize(table.keyType, incoming.keyType),
      valueType: harmonize(table.valueType, incoming.valueType),
    };
  }
  return castable(incoming, table) ? table : incoming;
}

/** Row checks applied to every batch before it is written. */
interface RowCheck {
  name: string;
  expr: Expr;
  /** What a failing row means, for the error. */
  what: string;
}

function checkRows(batch: RecordBatch, checks: readonly RowCheck[]): void {
  for (const c of checks) {
    const truth = evaluateBatch(c.expr, batch);
    const bad = truth.findIndex((t) => t !== 1);
    if (bad >= 0) {
      const count = truth.filter((t) => t !== 1).length;
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `write: ${count} row(s) violate ${c.what} ${c.name} (${formatFilter(c.expr)}); the first is row ${bad + 1} of its batch. Nothing was committed.`,
      );
    }
  }
}

export async function writeTable(
  store: ObjectStore,
  input: WriteInput,
  options: WriteOptions = {},
): Promise<WriteMetrics> {
  const mode = options.mode ?? 'append';
  if (mode !== 'append' && mode !== 'overwrite') {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `write: mode must be append or overwrite, got "${String(mode)}"`,
    );
  }
  if (options.replaceWhere !== undefined && mode !== 'overwrite') {
    throw new LakehouseError('INVALID_ARGUMENT', 'write: replaceWhere needs mode overwrite');
  }
  if ((options.appId === undefined) !== (options.appVersion === undefined)) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      'write: give both appId and appVersion for an idempotent write, or neither',
    );
  }
  const replaceWhere =
    typeof options.replaceWhere === 'string' ? parseFilter(options.replaceWhere) : options.replaceWhere;
  // Before any data is read: refuse a budget nothing fits in.
  let memory =
    options.memoryLimit === undefined
      ? undefined
      : planWriteMemory('write', options.memoryLimit, options.targetFileSize ?? DEFAULT_TARGET_FILE_SIZE);

  let snapshot: Snapshot | null;
  try {
    snapshot = await Snapshot.load(store);
  } catch (err) {
    if (!isLakehouseError(err, 'NOT_A_TABLE')) throw err;
    snapshot = null;
  }
  const metrics: WriteMetrics = {
    version: snapshot?.version ?? -1,
    skipped: false,
    numFiles: 0,
    numOutputRows: 0,
    numOutputBytes: 0,
    numRemovedFiles: 0,
    numCopiedRows: 0,
    numDeletedRows: 0,
    schemaChanged: false,
    createdTable: snapshot === null,
  };
  if (snapshot && options.appId !== undefined) {
    const done = snapshot.appTransactionVersion(options.appId);
    if (done !== undefined && done >= options.appVersion!) return { ...metrics, skipped: true };
  }

  const batches = batchesOf(input);
  const first = await batches.next();
  if (first.done && !snapshot) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      'write: no data to create the table from (give at least a schema with one batch)',
    );
  }
  const incoming: StructType | undefined = first.done ? undefined : arrowSchemaToDelta(first.value.schema);

  // ---- schema enforcement and the metadata to commit, before anything is written
  let schema: StructType;
  let partitionColumns: string[];
  let newMetadata: MetadataAction | undefined;
  let newProtocol: Action | undefined;
  if (!snapshot) {
    const created = newTableActions(incoming!, options.partitionBy ?? [], options.properties ?? {});
    newMetadata = created.metadata;
    newProtocol = { protocol: created.protocol };
    schema = parseSchema(created.metadata.schemaString);
    partitionColumns = created.metadata.partitionColumns;
  } else {
    assertWritable(snapshot.protocol, snapshot.metadata, {
      blindAppend: mode === 'append',
      removesData: mode === 'overwrite',
    });
    schema = snapshot.schema;
    partitionColumns = snapshot.partitionColumns;
    if (options.partitionBy && !options.overwriteSchema) {
      const want = options.partitionBy.map((c) => c.toLowerCase()).join(',');
      if (want !== partitionColumns.map((c) => c.toLowerCase()).join(',')) {
        throw new LakehouseError(
          'SCHEMA_MISMATCH',
          `write: the table is partitioned by [${partitionColumns.join(', ')}], not [${options.partitionBy.join(', ')}]; ` +
            'to change partitioning, overwrite with overwriteSchema',
        );
      }
    }
    if (incoming) {
      let evolved: StructType;
      if (options.overwriteSchema) {
        if (mode !== 'overwrite')
          throw new LakehouseError('INVALID_ARGUMENT', 'write: overwriteSchema needs mode overwrite');
        evolved = incoming;
        partitionColumns = [...(options.partitionBy ?? partitionColumns)];
      } else {
        evolved = mergeSchemas(schema, harmonize(schema, incoming) as StructType, {
          mergeSchema: options.mergeSchema,
        });
      }
      if (
        serializeSchema(evolved) !== serializeSchema(schema) ||
        partitionColumns !== snapshot.partitionColumns
      ) {
        const configuration = { ...snapshot.metadata.configuration };
        if (snapshot.columnMappingMode !== 'none') {
          const mapped = assignColumnMapping(evolved, Number(configuration[CM_MAX_ID] ?? 0));
          evolved = mapped.schema;
          configuration[CM_MAX_ID] = String(mapped.maxColumnId);
        }
        if (
          serializeSchema(evolved) !== serializeSchema(schema) ||
          partitionColumns !== snapshot.partitionColumns
        ) {
          newMetadata = {
            ...snapshot.metadata,
            schemaString: serializeSchema(evolved),
            partitionColumns,
            configuration,
          };
          schema = evolved;
          metrics.schemaChanged = true;
        }
      }
    }
  }
  const protocol = newProtocol
    ? (newProtocol as { protocol: Snapshot['protocol'] }).protocol
    : snapshot!.protocol;
  const metadata = newMetadata ?? snapshot!.metadata;
  if (typeNames(schema).has('timestamp_ntz') && !supportsFeature(protocol, 'timestampNtz')) {
    // Readers would not know the type: the protocol must name the feature first.
    throw new LakehouseError(
      'SCHEMA_EVOLUTION_REFUSED',
      'write: the new schema has a timestamp_ntz column, but the table protocol lacks the timestampNtz feature; ' +
        'recreate the table with that column (create enables the feature) or use a timestamp column',
    );
  }
  const checks: RowCheck[] = [];
  for (const c of rowConstraints(protocol, metadata)) {
    let expr: Expr;
    try {
      expr = parseFilter(c.expression);
    } catch {
      throw new LakehouseError(
        'UNSUPPORTED_WRITER_FEATURE',
        `write: the table has ${c.kind === 'check' ? 'CHECK constraint' : 'invariant'} ${c.name} (${c.expression}), ` +
          'an expression this kit cannot evaluate; refusing to write rows it cannot check',
      );
    }
    checks.push({ name: c.name, expr, what: c.kind === 'check' ? 'CHECK constraint' : 'invariant' });
  }
  if (replaceWhere) {
    const refs = referencedColumns(replaceWhere);
    for (const r of refs) {
      if (!schema.fields.some((f) => f.name.toLowerCase() === r[0]!.toLowerCase())) {
        throw new LakehouseError(
          'INVALID_ARGUMENT',
          `write: replaceWhere refers to ${r.join('.')}, which is not a column of the table`,
        );
      }
    }
    checks.push({ name: '', expr: replaceWhere, what: 'the replaceWhere predicate' });
  }

  const columnMappingMode =
    snapshot && !newMetadata
      ? snapshot.columnMappingMode
      : ((metadata.configuration['delta.columnMapping.mode'] as 'name' | 'id' | undefined) ?? 'none');
  const target = deltaSchemaToArrow(schema);
  const numIndexed = Number(metadata.configuration['delta.dataSkippingNumIndexedCols'] ?? 32);
  if (memory) {
    // Re-plan now that the snapshot is loaded (it is part of what the process holds).
    memory = planWriteMemory('write', memory.memoryLimit, options.targetFileSize ?? DEFAULT_TARGET_FILE_SIZE);
    metrics.memory = memory;
  }
  const writerOptions = {
    compression: options.compression,
    targetFileSize: memory?.targetFileSize ?? options.targetFileSize,
    // Under a memory limit, one file in flight: the budget counts one file being encoded.
    ...(memory ? { maxBufferedBytes: memory.maxBufferedBytes, encodeConcurrency: 1 } : {}),
    rowGroupRows: options.rowGroupRows,
    rowGroupBytes: options.rowGroupBytes,
    numIndexedCols: Number.isFinite(numIndexed) ? numIndexed : 32,
    lease: new WriteLease(store, 'WRITE'),
  };
  try {
    return await writeAndCommit();
  } finally {
    await writerOptions.lease.release();
  }

  async function writeAndCommit(): Promise<WriteMetrics> {
    const writer = new DataFileWriter(store, {
      ...writerOptions,
      schema,
      partitionColumns,
      columnMappingMode,
    });

    // ---- write the data files
    const writeOne = async (batch: RecordBatch): Promise<void> => {
      if (batch.numRows === 0) return;
      const conformed = conformBatch(batch, target);
      checkRows(conformed, checks);
      await writer.write(conformed);
    };
    let adds: AddAction[];
    try {
      if (!first.done) await writeOne(first.value);
      for await (const batch of batches) await writeOne(batch);
      adds = await writer.finish();
    } catch (err) {
      await writer.settle(); // files already being written land before the failure is reported
      throw err;
    }

    // ---- what an overwrite replaces
    const removes: RemoveAction[] = [];
    let readPredicate: ((add: AddAction) => boolean) | undefined;
    let readFiles: string[] | undefined;
    if (snapshot && mode === 'overwrite') {
      if (!replaceWhere) {
        for (const a of snapshot.activeFiles()) removes.push(removeFor(a));
      } else {
        const table = {
          schema: snapshot.schema,
          partitionColumns: snapshot.partitionColumns,
          mode: snapshot.columnMappingMode,
        };
        if (onlyPartitionColumns(referencedColumns(replaceWhere), snapshot.partitionColumns)) {
          for (const a of snapshot.activeFiles()) {
            if (
              fileTruth(replaceWhere, table, {
                partitionValues: a.partitionValues,
                stats: parseStats(a.stats),
              }) & T
            ) {
              removes.push(removeFor(a));
            }
          }
          readFiles = removes.map((r) => r.path);
        } else {
          const rewritten = await removeMatchingRows(store, snapshot, replaceWhere, writerOptions);
          removes.push(...rewritten.removes);
          adds.push(...rewritten.adds);
          metrics.numCopiedRows = rewritten.numCopiedRows;
          metrics.numDeletedRows = rewritten.numDeletedRows;
          readFiles = rewritten.readFiles;
        }
        readPredicate = (a) =>
          (fileTruth(replaceWhere, table, {
            partitionValues: a.partitionValues,
            stats: parseStats(a.stats),
          }) &
            T) !==
          0;
      }
    }

    // ---- commit
    const actions: Action[] = [];
    if (newProtocol) actions.push(newProtocol);
    if (newMetadata) actions.push({ metaData: newMetadata });
    actions.push(...removes.map((remove) => ({ remove })), ...adds.map((add) => ({ add })));
    const outputRows = writer.numRows;
    const outputBytes = adds.reduce((s, a) => s + a.size, 0);
    const tx = new Transaction(store, snapshot, {
      operation: snapshot ? 'WRITE' : 'CREATE TABLE AS SELECT',
      operationParameters: {
        mode: mode === 'append' ? 'Append' : 'Overwrite',
        partitionBy: JSON.stringify(partitionColumns),
        ...(replaceWhere ? { predicate: JSON.stringify([formatFilter(replaceWhere)]) } : {}),
      },
      operationMetrics: {
        numFiles: String(adds.length),
        numOutputRows: String(outputRows),
        numOutputBytes: String(outputBytes),
        ...(removes.length ? { numRemovedFiles: String(removes.length) } : {}),
      },
      ...(snapshot && mode === 'overwrite' && !replaceWhere ? { readWholeTable: true } : {}),
      ...(readPredicate ? { readPredicate } : {}),
      ...(readFiles ? { readFiles } : {}),
      ...(options.appId !== undefined
        ? { appTransaction: { appId: options.appId, version: options.appVersion! } }
        : {}),
      ...(options.commitInfo ? { commitInfo: options.commitInfo } : {}),
    });
    tx.addActions(actions);
    writerOptions.lease.assertHeld();
    const committed = await tx.commit();
    return {
      ...metrics,
      version: committed.version,
      numFiles: adds.length,
      numOutputRows: outputRows,
      numOutputBytes: outputBytes,
      numRemovedFiles: removes.length,
    };
  }
}
