/**
 * Parquet bytes ⇄ Arrow batches with parquet-wasm (arrow-rs compiled to WebAssembly), reading by
 * byte range through the `ObjectStore`.
 *
 * - `writeParquetFile` encodes batches into one Parquet file in memory (the caller bounds its size).
 * - `openParquet` opens a file for ranged reads: parquet-wasm asks for the footer and then only
 *   the column chunks it needs, each as one `store.getRange`; the file is never loaded whole.
 */
import { RecordBatch, type Schema, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
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

  /** Stream the file's rows as Arrow batches, in file order. */
  async *batches(options: ParquetReadOptions = {}): AsyncGenerator<RecordBatch> {
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
