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
import { type Data, Field, makeData, RecordBatch, Schema, Struct } from 'apache-arrow';
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
import { CODEC_SUFFIX, type ParquetCompression, writeParquetFile } from './parquet-io.js';
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
  private readonly adds: AddAction[] = [];
  private readonly uuid = randomUUID();
  private fileIndex = 0;
  private bufferedBytes = 0;
  /** Parquet bytes per Arrow byte seen so far (starts at a typical 1/3). */
  private ratio = 1 / 3;
  private rowsWritten = 0;
  private pending: Promise<void> = Promise.resolve();

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
      const groups = new Map<string, { values: Record<string, string | null>; rows: number[] }>();
      const cols = this.partitionIdx.map((i) => batch.data.children[i]!);
      for (let r = 0; r < batch.numRows; r++) {
        const values: Record<string, string | null> = {};
        cols.forEach((d, k) => {
          values[this.physicalPartitionNames[k]!] = serializePartitionValue(
            this.partitionTypes[k]!,
            scalarAt(d, r),
          );
        });
        const key = JSON.stringify(this.physicalPartitionNames.map((n) => values[n]));
        let g = groups.get(key);
        if (!g) groups.set(key, (g = { values, rows: [] }));
        g.rows.push(r);
      }
      for (const [key, g] of groups) {
        const part = groups.size === 1 ? batch : takeBatch(batch, g.rows);
        await this.append(key, g.values, this.toFileBatch(part));
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

  private async writeFile(
    values: Record<string, string | null>,
    batches: RecordBatch[],
    arrowSize: number,
  ): Promise<void> {
    const compression = this.options.compression ?? 'snappy';
    const stats = new StatsCollector(
      this.fileSchema.fields,
      this.options.numIndexedCols ?? DEFAULT_NUM_INDEXED_COLS,
    );
    for (const b of batches) stats.update(b);
    const bytes = writeParquetFile(batches, {
      compression,
      rowGroupRows: this.options.rowGroupRows,
      rowGroupBytes: this.options.rowGroupBytes,
    });
    if (arrowSize > 0) this.ratio = Math.max(0.01, bytes.length / arrowSize);
    const codec = CODEC_SUFFIX[compression];
    const name = dataFileName(this.fileIndex++, this.uuid, codec);
    const folder = this.partitionColumns.length ? partitionFolder(this.physicalPartitionNames, values) : '';
    const relative = [this.options.prefix, folder, name].filter(Boolean).join('/');
    await this.store.put(relative, bytes);
    this.rowsWritten += stats.rows;
    this.adds.push({
      path: encodeAddPath(relative),
      partitionValues: values,
      size: bytes.length,
      modificationTime: Date.now(),
      dataChange: this.options.dataChange ?? true,
      stats: stats.toJson(),
    });
  }

  /** Flush every buffer; the adds of all files written, in write order. */
  async finish(): Promise<AddAction[]> {
    for (const key of [...this.buffers.keys()]) await this.flush(key);
    return this.adds;
  }

  /** Files written so far (before `finish`, some rows may still be buffered). */
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
