/**
 * Parquet bytes ⇄ Arrow batches with parquet-wasm (arrow-rs compiled to WebAssembly), reading by
 * byte range through the `ObjectStore`.
 *
 * - `writeParquetFile` encodes batches into one Parquet file in memory (the caller bounds its size).
 * - `openParquet` opens a file for ranged reads: parquet-wasm asks for the footer and then only
 *   the column chunks it needs, each as one `store.getRange`; the file is never loaded whole.
 */
import {
  type Data,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableFromIPC,
  tableToIPC,
  TimestampMicrosecond,
  TimeUnit,
  Type,
} from 'apache-arrow';
import { type FileMetaData, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import * as pq from 'parquet-wasm/node';
import { LakehouseError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';

export type ParquetCompression = 'snappy' | 'zstd' | 'gzip' | 'lz4' | 'uncompressed';

/** The codec part of a data file name (`part-…c000.<codec>.parquet`); '' for uncompressed. */
export const CODEC_SUFFIX: Record<ParquetCompression, string> = {
  snappy: 'snappy',
  zstd: 'zstd',
  gzip: 'gz',
  lz4: 'lz4',
  uncompressed: '',
};

const CODECS: Record<ParquetCompression, pq.Compression> = {
  snappy: pq.Compression.SNAPPY,
  zstd: pq.Compression.ZSTD,
  gzip: pq.Compression.GZIP,
  lz4: pq.Compression.LZ4_RAW,
  uncompressed: pq.Compression.UNCOMPRESSED,
};

export interface ParquetWriteOptions {
  /** Default `snappy`. */
  compression?: ParquetCompression;
  /** Maximum rows per row group. Default 1,048,576 (arrow-rs's default, as delta-rs). */
  rowGroupRows?: number;
  /** Maximum bytes per row group, if set. */
  rowGroupBytes?: number;
  /** Written into the footer as `created_by`. */
  createdBy?: string;
}

export const DEFAULT_ROW_GROUP_ROWS = 1_048_576;

/** Encode batches (all of one schema) as one Parquet file. */
export function writeParquetFile(
  batches: readonly RecordBatch[],
  options: ParquetWriteOptions = {},
): Uint8Array {
  if (batches.length === 0)
    throw new LakehouseError('INTERNAL', 'parquet: no batches to write (this is a bug)');
  let builder = new pq.WriterPropertiesBuilder()
    .setCompression(CODECS[options.compression ?? 'snappy'])
    .setMaxRowGroupSize(options.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS)
    .setStatisticsEnabled(pq.EnabledStatistics.Chunk)
    .setCreatedBy(options.createdBy ?? 'lakehouse-kit');
  if (options.rowGroupBytes) builder = builder.setMaxRowGroupBytes(options.rowGroupBytes);
  const ipc = tableToIPC(new Table(batches as RecordBatch[]), 'stream');
  const wasmTable = pq.Table.fromIPCStream(ipc);
  try {
    return pq.writeParquet(wasmTable, builder.build());
  } finally {
    // writeParquet consumes the table; freeing twice is harmless in wasm-bindgen only if not consumed.
  }
}

/**
 * A Blob-like view of an object, each slice read by one ranged GET (what parquet-wasm asks for).
 *
 * A rejected read must never reach parquet-wasm: a rejection inside its reader aborts the
 * WebAssembly instance ("unreachable"), which takes the whole process down. So a failed read
 * hands back zeros of the right length, which the decoder rejects as a normal error, and the
 * real cause is kept in `failure` for the caller to report instead.
 */
class StoreBlob {
  failure: unknown;

  constructor(
    private readonly store: ObjectStore,
    private readonly path: string,
    readonly size: number,
  ) {}

  slice(start: number, end: number): { arrayBuffer(): Promise<ArrayBuffer> } {
    const s = Math.max(0, Math.floor(start));
    const e = Math.min(this.size, Math.floor(end));
    return {
      arrayBuffer: async () => {
        try {
          const bytes = await this.store.getRange(this.path, s, e);
          if (bytes.byteLength !== e - s)
            throw new LakehouseError('STORAGE', `parquet: ${this.path}: short read at ${s}`);
          return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
        } catch (err) {
          this.failure ??= err;
          return new ArrayBuffer(Math.max(0, e - s));
        }
      },
    };
  }
}

function readError(blob: StoreBlob, path: string, err: unknown): LakehouseError {
  const cause = blob.failure ?? err;
  if (cause instanceof LakehouseError) return cause;
  return new LakehouseError(
    'STORAGE',
    `parquet: cannot read ${path}: ${String((cause as Error)?.message ?? cause)}`,
    {
      cause,
    },
  );
}

export interface ParquetReadOptions {
  /** Top-level columns to read (names as in the file); all when absent. */
  columns?: string[];
  /** Rows per batch. Default 65,536. */
  batchSize?: number;
}

/** An open Parquet file read by ranges. */
export class ParquetSource {
  private constructor(
    private readonly file: pq.ParquetFile,
    private readonly blob: StoreBlob,
    readonly path: string,
  ) {}

  /**
   * Open a Parquet object. `size` (e.g. `add.size`) saves a HEAD request. Rejects with NOT_FOUND
   * when the object is missing, STORAGE when it is not a readable Parquet file.
   */
  static async open(store: ObjectStore, path: string, size?: number): Promise<ParquetSource> {
    const bytes = size ?? (await store.head(path)).size;
    // Read the tail first: a missing or truncated object fails here, cleanly, not inside the decoder.
    const tail = await store.getRange(path, Math.max(0, bytes - 8), bytes);
    if (tail.byteLength !== Math.min(8, bytes) || new TextDecoder().decode(tail.subarray(4)) !== 'PAR1') {
      throw new LakehouseError(
        'STORAGE',
        `parquet: ${path} is not a Parquet file of ${bytes} bytes (no PAR1 footer there)`,
      );
    }
    const blob = new StoreBlob(store, path, bytes);
    try {
      const file = await pq.ParquetFile.fromFile(blob as unknown as Blob);
      return new ParquetSource(file, blob, path);
    } catch (err) {
      throw readError(blob, path, err);
    }
  }

  /** The Arrow schema as stored (field names and types exactly as the writer chose). */
  schema(): Schema {
    return tableFromIPC(this.file.schema().intoIPCStream()).schema;
  }

  get numRows(): number {
    return this.file.metadata().fileMetadata().numRows();
  }

  /**
   * Top-level columns stored as INT96 (Spark's legacy timestamps). arrow-rs decodes them to
   * 64-bit nanoseconds, which overflow outside 1677..2262; `batches` re-reads these columns
   * with hyparquet, which decodes INT96 exactly, and returns microseconds. Only files whose
   * Arrow schema has a zone-less nanosecond timestamp (how INT96 surfaces) pay for the footer
   * read this needs.
   */
  private async int96Columns(): Promise<{ names: Set<string>; metadata?: FileMetaData }> {
    if (this.int96) return this.int96;
    const candidates = this.schema().fields.filter(
      (f) =>
        f.type.typeId === Type.Timestamp &&
        (f.type as unknown as { unit: TimeUnit }).unit === TimeUnit.NANOSECOND &&
        !(f.type as unknown as { timezone: string | null }).timezone,
    );
    if (candidates.length === 0) return (this.int96 = { names: new Set() });
    let metadata: FileMetaData;
    try {
      metadata = await parquetMetadataAsync(this.asyncBuffer());
    } catch (err) {
      throw readError(this.blob, this.path, err);
    }
    const names = new Set(
      metadata.schema
        .filter((e) => e.type === 'INT96' && candidates.some((c) => c.name === e.name))
        .map((e) => e.name),
    );
    return (this.int96 = { names, metadata });
  }

  private int96?: { names: Set<string>; metadata?: FileMetaData };

  private asyncBuffer(): { byteLength: number; slice(start: number, end?: number): Promise<ArrayBuffer> } {
    return {
      byteLength: this.blob.size,
      slice: (start, end) => this.blob.slice(start, end ?? this.blob.size).arrayBuffer(),
    };
  }

  /** Microsecond timestamps of one INT96 column for rows [start, end). */
  private async readInt96(name: string, metadata: FileMetaData, start: number, end: number): Promise<Data> {
    let rows: Record<string, bigint | null>[];
    try {
      rows = (await parquetReadObjects({
        file: this.asyncBuffer(),
        metadata,
        columns: [name],
        rowStart: start,
        rowEnd: end,
        compressors,
        parsers: { timestampFromNanoseconds: (n: bigint) => n } as never,
      })) as Record<string, bigint | null>[];
    } catch (err) {
      throw readError(this.blob, this.path, err);
    }
    const n = rows.length;
    const values = new BigInt64Array(n);
    const bitmap = new Uint8Array((n + 7) >> 3);
    let nulls = 0;
    rows.forEach((r, i) => {
      const v = r[name];
      if (v === null || v === undefined) {
        nulls++;
        return;
      }
      // Floor to microseconds (towards the past, as Spark truncates).
      values[i] = v >= 0n ? v / 1000n : -((-v + 999n) / 1000n);
      bitmap[i >> 3]! |= 1 << (i & 7);
    });
    return makeData({
      type: new TimestampMicrosecond(null),
      length: n,
      nullCount: nulls,
      nullBitmap: nulls ? bitmap : undefined,
      data: values,
    } as never);
  }

  /** Stream the file's rows as Arrow batches, in file order. */
  async *batches(options: ParquetReadOptions = {}): AsyncGenerator<RecordBatch> {
    const int96 = await this.int96Columns();
    let row = 0;
    for await (const batch of this.wasmBatches(options)) {
      const start = row;
      row += batch.numRows;
      const fields = batch.schema.fields;
      if (!int96.metadata || !fields.some((f) => int96.names.has(f.name))) {
        yield batch;
        continue;
      }
      const children = await Promise.all(
        fields.map((f, i) =>
          int96.names.has(f.name)
            ? this.readInt96(f.name, int96.metadata!, start, start + batch.numRows)
            : Promise.resolve(batch.data.children[i]!),
        ),
      );
      const schema = new Schema(
        fields.map((f, i) => f.clone({ type: children[i]!.type })),
        batch.schema.metadata,
      );
      yield new RecordBatch(
        schema,
        makeData({ type: new Struct(schema.fields), length: batch.numRows, nullCount: 0, children }),
      );
    }
  }

  private async *wasmBatches(options: ParquetReadOptions): AsyncGenerator<RecordBatch> {
    let stream: ReadableStream<pq.RecordBatch>;
    try {
      stream = (await this.file.stream({
        batchSize: options.batchSize ?? 65_536,
        ...(options.columns ? { columns: options.columns } : {}),
      })) as ReadableStream<pq.RecordBatch>;
    } catch (err) {
      throw readError(this.blob, this.path, err);
    }
    const reader = stream.getReader();
    try {
      for (;;) {
        let next: Awaited<ReturnType<typeof reader.read>>;
        try {
          next = await reader.read();
        } catch (err) {
          throw readError(this.blob, this.path, err);
        }
        if (next.done) break;
        const table = tableFromIPC(next.value.intoIPCStream());
        for (const b of table.batches) yield b;
      }
    } finally {
      reader.releaseLock();
    }
  }

  close(): void {
    this.file.free();
  }
}
