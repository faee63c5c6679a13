/**
 * Writing a stream of Arrow batches as Delta data files: partitioned into Hive-style folders,
 * split into files near a target size, each with its `add` action (path, partition values, size,
 * statistics).
 *
 * Contract:
 * - Batches must already have the table's logical Arrow schema (`conformBatch`); partition
 *   columns are taken out of the rows and into the folder names and `partitionValues`, as the
 *   protocol requires; under column mapping the file columns get their physical names and
 *   Parquet field ids.
 * - Files are written as they fill (never the whole input in memory): a partition's buffer is
 *   flushed when its estimated Parquet size reaches `targetFileSize`, and the largest buffer is
 *   flushed whenever all buffers together exceed `maxBufferedBytes`.
 * - Nothing is committed here: the caller commits the returned adds. Files of a write that fails
 *   before its commit stay unreferenced, for VACUUM to remove.
 */
import { randomUUID } from 'node:crypto';
import { type Data, type DataType, Field, makeData, RecordBatch, Schema, Struct, Type } from 'apache-arrow';
import type { AddAction } from '../delta/actions.js';
import { deltaSchemaToArrow } from '../delta/arrow-schema.js';
import {
  CM_ID,
  type ColumnMappingMode,
  isStruct,
  type DeltaType,
  physicalSchema,
  type StructType,
} from '../delta/schema.js';
import { LakehouseError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { takeBatch } from './arrow-build.js';
import { scalarAt } from './arrow-values.js';
import { FIELD_ID_KEY, retypeData } from './conform.js';
import { encodeParquet, parquetThreads } from './parquet-workers.js';
import { CODEC_SUFFIX, type ParquetCompression, plainEncodedColumns } from './parquet-io.js';
import type { WriteLease } from '../delta/write-lease.js';
import { dataFileName, encodeAddPath, partitionFolder, serializePartitionValue } from './partition.js';
import { DEFAULT_NUM_INDEXED_COLS, StatsCollector } from './stats.js';

export const DEFAULT_TARGET_FILE_SIZE = 128 * 1024 * 1024;
export const DEFAULT_MAX_BUFFERED_BYTES = 512 * 1024 * 1024;

export interface DataWriterOptions {
  /** The table's logical schema. */
  schema: StructType;
  partitionColumns: readonly string[];
  /** `delta.columnMapping.mode`; default `none`. */
  columnMappingMode?: ColumnMappingMode;
  /** Parquet codec; default `snappy`. */
  compression?: ParquetCompression;
  /** Aim for data files of about this many bytes; default 128 MiB. */
  targetFileSize?: number;
  /** Maximum rows per row group; default 1,048,576. */
  rowGroupRows?: number;
  /** Maximum bytes per row group; no limit by default. */
  rowGroupBytes?: number;
  /** `delta.dataSkippingNumIndexedCols`; default 32 (-1: all columns). */
  numIndexedCols?: number;
  /** Flush the largest partition buffer when all buffers hold more; default 512 MiB. */
  maxBufferedBytes?: number;
  /** `dataChange` of the adds; default true (false for compaction). */
  dataChange?: boolean;
  /** Folder under the table root for the files (besides partition folders); default none. */
  prefix?: string;
  /**
   * Files being encoded and uploaded at once (on the Parquet workers, `parquet-workers.ts`) while
   * more rows are taken in; default the pool's size (1 when encoding runs in this thread). Each
   * holds its rows until it is written: count them in memory budgets.
   */
  encodeConcurrency?: number;
  /**
   * The operation's write lease (`delta/write-lease.ts`), put before the first file so that a
   * concurrent VACUUM with a short retention keeps the files until the commit. Every operation
   * that commits the adds passes one; without it only the retention protects the files.
   */
  lease?: WriteLease;
}

/** Bytes an Arrow data tree occupies (buffers only). */
export function arrowBytes(data: Data): number {
  let n = 0;
  for (const b of Object.values(data.buffers) as (ArrayBufferView | undefined)[]) if (b) n += b.byteLength;
  for (const c of data.children) n += arrowBytes(c);
  return n;
}

interface PartitionBuffer {
  values: Record<string, string | null>;
  batches: RecordBatch[];
  bytes: number;
}

/** The Arrow field of a physical Delta field, carrying its column-mapping id as a Parquet field id. */
export function physicalArrowField(
  f: StructType['fields'][number],
  mode: ColumnMappingMode,
  withIds = mode !== 'none',
): Field {
  const base = deltaSchemaToArrow({ type: 'struct', fields: [f] }).fields[0]!;
  const type = addFieldIds(base.type, f.type, mode, withIds);
  const metadata = new Map<string, string>();
  const id = f.metadata?.[CM_ID];
  if (withIds && id !== undefined) metadata.set(FIELD_ID_KEY, String(id));
  return new Field(f.name, type, f.nullable, metadata);
}

function addFieldIds(
  type: import('apache-arrow').DataType,
  delta: DeltaType,
  mode: ColumnMappingMode,
  withIds: boolean,
): import('apache-arrow').DataType {
  if (isStruct(delta)) return new Struct(delta.fields.map((f) => physicalArrowField(f, mode, withIds)));
  // Inside arrays and maps the physical names are already in `type`; ids are only set on struct fields.
  return type;
}

/**
 * For one column, `eq(r)`: is row r's value the same as row r-1's (both null, or equal bytes)?
 * Conservative: false when unsure, which only costs a lookup.
 */
function sameAsPreviousRow(data: Data): (r: number) => boolean {
  const nulls = data.nullCount > 0;
  const validEq = (r: number): number => {
    if (!nulls) return 1;
    const a = data.getValid(r);
    const b = data.getValid(r - 1);
    return a !== b ? 0 : a ? 1 : 2; // 2: both null
  };
  const type = data.type as DataType;
  if (type.typeId === Type.Utf8 || type.typeId === Type.Binary) {
    const offsets = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    return (r) => {
      const v = validEq(r);
      if (v !== 1) return v === 2;
      const a0 = offsets[r]!;
      const a1 = offsets[r + 1]!;
      const b0 = offsets[r - 1]!;
      if (a1 - a0 !== a0 - b0) return false;
      for (let k = 0; k < a1 - a0; k++) if (bytes[a0 + k] !== bytes[b0 + k]) return false;
      return true;
    };
  }
  const values = data.values as unknown;
  if (
    type.typeId !== Type.Dictionary &&
    type.typeId !== Type.Bool &&
    ArrayBuffer.isView(values) &&
    !(values instanceof DataView) &&
    (values as unknown as { length: number }).length === data.length
  ) {
    const v = values as unknown as ArrayLike<number | bigint>;
    return (r) => {
      const e = validEq(r);
      return e === 2 || (e === 1 && Object.is(v[r], v[r - 1]));
    };
  }
  return () => false;
}

/** The rows of runs [start, end) (flattened pairs): a zero-copy slice for one run, else a gather. */
function sliceOrTake(batch: RecordBatch, runs: readonly number[]): RecordBatch {
  if (runs.length === 2) return batch.slice(runs[0]!, runs[1]!);
  let total = 0;
  for (let k = 0; k < runs.length; k += 2) total += runs[k + 1]! - runs[k]!;
  const rows = new Int32Array(total);
  let at = 0;
  for (let k = 0; k < runs.length; k += 2) for (let r = runs[k]!; r < runs[k + 1]!; r++) rows[at++] = r;
  return takeBatch(batch, rows);
}

/** Writes batches into data files; `finish()` returns the `add` actions to commit. */
export class DataFileWriter {
  private readonly partitionColumns: string[];
  private readonly partitionIdx: number[];
  private readonly dataIdx: number[];
  private readonly fileSchema: Schema;
  private readonly logicalSchema: Schema;
  private readonly partitionTypes: DeltaType[];
  private readonly physicalPartitionNames: string[];
  private readonly buffers = new Map<string, PartitionBuffer>();
  /** Adds of files written, with their file index (files complete out of order). */
  private readonly written: { index: number; add: AddAction }[] = [];
  /** Files being encoded or uploaded; a failure is kept in `failure` and thrown at the next call. */
  private readonly inflight = new Set<Promise<void>>();
  private failure: unknown;
  private readonly uuid = randomUUID();
  private fileIndex = 0;
  private bufferedBytes = 0;
  /** Parquet bytes per Arrow byte seen so far (starts at a typical 1/3). */
  private ratio = 1 / 3;
  private rowsWritten = 0;
  private pending: Promise<void> = Promise.resolve();
  /** Columns written without a dictionary, decided from the first file (`plainEncodedColumns`). */
  private plainColumns?: string[];

  constructor(
    private readonly store: ObjectStore,
    private readonly options: DataWriterOptions,
  ) {
    const mode = options.columnMappingMode ?? 'none';
    const fields = options.schema.fields;
    this.logicalSchema = deltaSchemaToArrow(options.schema);
    this.partitionColumns = [...options.partitionColumns];
    const lower = fields.map((f) => f.name.toLowerCase());
    this.partitionIdx = this.partitionColumns.map((c) => {
      const i = lower.indexOf(c.toLowerCase());
      if (i < 0) throw new LakehouseError('INVALID_ARGUMENT', `partition column ${c} is not in the schema`);
      return i;
    });
    this.partitionTypes = this.partitionIdx.map((i) => fields[i]!.type);
    const physical = physicalSchema(options.schema, mode);
    this.physicalPartitionNames = this.partitionIdx.map((i) => physical.fields[i]!.name);
    this.dataIdx = fields.map((_, i) => i).filter((i) => !this.partitionIdx.includes(i));
    this.fileSchema = new Schema(this.dataIdx.map((i) => physicalArrowField(physical.fields[i]!, mode)));
  }

  /** Add one batch (the table's logical Arrow schema). */
  async write(batch: RecordBatch): Promise<void> {
    if (batch.numRows === 0) return;
    if (this.partitionColumns.length === 0) {
      await this.append('', {}, this.toFileBatch(batch));
    } else {
      // Per partition: its rows as runs [start, end) of consecutive rows.
      const groups = new Map<string, { values: Record<string, string | null>; runs: number[] }>();
      const cols = this.partitionIdx.map((i) => batch.data.children[i]!);
      const same = cols.map(sameAsPreviousRow);
      const n = batch.numRows;
      for (let r = 0; r < n;) {
        // Input is usually clustered by partition: rows equal to the one before extend its run
        // without their values being read and serialized.
        let end = r + 1;
        if (same.length === 1) {
          const eq = same[0]!;
          while (end < n && eq(end)) end++;
        } else {
          while (end < n && same.every((eq) => eq(end))) end++;
        }
        const values: Record<string, string | null> = {};
        cols.forEach((d, k) => {
          values[this.physicalPartitionNames[k]!] = serializePartitionValue(
            this.partitionTypes[k]!,
            scalarAt(d, r),
          );
        });
        const key = JSON.stringify(this.physicalPartitionNames.map((c) => values[c]));
        let g = groups.get(key);
        if (!g) groups.set(key, (g = { values, runs: [] }));
        g.runs.push(r, end);
        r = end;
      }
      for (const [key, grp] of groups) {
        const part = groups.size === 1 ? batch : sliceOrTake(batch, grp.runs);
        await this.append(key, grp.values, this.toFileBatch(part));
      }
    }
    await this.pending;
  }

  private toFileBatch(batch: RecordBatch): RecordBatch {
    const children = this.dataIdx.map((i, k) =>
      retypeData(batch.data.children[i]!, this.fileSchema.fields[k]!.type),
    );
    const struct = makeData({
      type: new Struct(this.fileSchema.fields),
      length: batch.numRows,
      nullCount: 0,
      children,
    });
    return new RecordBatch(this.fileSchema, struct);
  }

  private async append(
    key: string,
    values: Record<string, string | null>,
    batch: RecordBatch,
  ): Promise<void> {
    let buf = this.buffers.get(key);
    if (!buf) this.buffers.set(key, (buf = { values, batches: [], bytes: 0 }));
    const bytes = arrowBytes(batch.data);
    buf.batches.push(batch);
    buf.bytes += bytes;
    this.bufferedBytes += bytes;
    const target = this.options.targetFileSize ?? DEFAULT_TARGET_FILE_SIZE;
    if (buf.bytes * this.ratio >= target) await this.flush(key);
    const cap = this.options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    while (this.bufferedBytes > cap) {
      let largest: string | undefined;
      for (const [k, b] of this.buffers)
        if (!largest || b.bytes > this.buffers.get(largest)!.bytes) largest = k;
      if (!largest) break;
      await this.flush(largest);
    }
  }

  private async flush(key: string): Promise<void> {
    const buf = this.buffers.get(key);
    if (!buf || buf.batches.length === 0) return;
    this.buffers.delete(key);
    this.bufferedBytes -= buf.bytes;
    const target = this.options.targetFileSize ?? DEFAULT_TARGET_FILE_SIZE;
    // Split the buffer into files of about the target size (by estimated Parquet bytes).
    let group: RecordBatch[] = [];
    let groupBytes = 0;
    for (const b of buf.batches) {
      const bytes = arrowBytes(b.data);
      if (group.length > 0 && (groupBytes + bytes) * this.ratio > target) {
        await this.writeFile(buf.values, group, groupBytes);
        group = [];
        groupBytes = 0;
      }
      group.push(b);
      groupBytes += bytes;
    }
    if (group.length > 0) await this.writeFile(buf.values, group, groupBytes);
  }

  /**
   * Start writing one file: statistics here, encoding on a worker, then the upload; returns once
   * fewer than `encodeConcurrency` files are in flight (so rows keep coming while files encode).
   */
  private async writeFile(
    values: Record<string, string | null>,
    batches: RecordBatch[],
    arrowSize: number,
  ): Promise<void> {
    this.throwIfFailed();
    const compression = this.options.compression ?? 'snappy';
    const stats = new StatsCollector(
      this.fileSchema.fields,
      this.options.numIndexedCols ?? DEFAULT_NUM_INDEXED_COLS,
    );
    for (const b of batches) stats.update(b);
    const index = this.fileIndex++;
    const name = dataFileName(index, this.uuid, CODEC_SUFFIX[compression]);
    const folder = this.partitionColumns.length ? partitionFolder(this.physicalPartitionNames, values) : '';
    const relative = [this.options.prefix, folder, name].filter(Boolean).join('/');
    // Decided once per writer, from its first file (sampling every file costs more than it saves).
    this.plainColumns ??= plainEncodedColumns(batches);
    const job = encodeParquet(batches, {
      compression,
      plainColumns: this.plainColumns,
      rowGroupRows: this.options.rowGroupRows,
      rowGroupBytes: this.options.rowGroupBytes,
    }).then(async (bytes) => {
      if (arrowSize > 0) this.ratio = Math.max(0.01, bytes.length / arrowSize);
      await this.options.lease?.ensure();
      await this.store.put(relative, bytes);
      this.rowsWritten += stats.rows;
      this.written.push({
        index,
        add: {
          path: encodeAddPath(relative),
          partitionValues: values,
          size: bytes.length,
          modificationTime: Date.now(),
          dataChange: this.options.dataChange ?? true,
          stats: stats.toJson(),
        },
      });
    });
    const tracked: Promise<void> = job.then(
      () => {
        this.inflight.delete(tracked);
      },
      (err: unknown) => {
        this.inflight.delete(tracked);
        this.failure ??= err;
      },
    );
    this.inflight.add(tracked);
    const limit = Math.max(1, this.options.encodeConcurrency ?? parquetThreads());
    while (this.inflight.size >= limit) await Promise.race(this.inflight);
    this.throwIfFailed();
  }

  /**
   * Wait until no file is being encoded or uploaded, ignoring their failures: call it before
   * giving up on a write, so no file appears after the operation returned.
   */
  async settle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.race(this.inflight);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** Flush every buffer and wait for every file; the adds of all files written, in write order. */
  async finish(): Promise<AddAction[]> {
    for (const key of [...this.buffers.keys()]) await this.flush(key);
    while (this.inflight.size > 0) await Promise.race(this.inflight);
    this.throwIfFailed();
    this.options.lease?.assertHeld();
    return this.adds;
  }

  private get adds(): AddAction[] {
    return [...this.written].sort((a, b) => a.index - b.index).map((w) => w.add);
  }

  /** Files written so far (before `finish`, some rows may still be buffered or being encoded). */
  get filesWritten(): readonly AddAction[] {
    return this.adds;
  }

  get numRows(): number {
    return this.rowsWritten;
  }

  get logicalArrowSchema(): Schema {
    return this.logicalSchema;
  }
}
