/**
 * Parquet bytes ⇄ Arrow batches with parquet-wasm (arrow-rs compiled to WebAssembly), reading by
 * byte range through the `ObjectStore`.
 *
 * - `writeParquetFile` encodes batches into one Parquet file in memory (the caller bounds its size).
 * - `openParquet` opens a file for ranged reads: parquet-wasm asks for the footer and then only
 *   the column chunks it needs, each as one `store.getRange`; the file is never loaded whole.
 */
import { RecordBatch, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
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

/** A Blob-like view of an object, each slice read by one ranged GET (what parquet-wasm asks for). */
class StoreBlob {
  constructor(
    private readonly store: ObjectStore,
    private readonly path: string,
    readonly size: number,
    private readonly start = 0,
  ) {}
  slice(start: number, end: number): { arrayBuffer(): Promise<ArrayBuffer> } {
    const s = this.start + Math.max(0, Math.floor(start));
    const e = this.start + Math.min(this.size, Math.floor(end));
    return {
      arrayBuffer: async () => {
        const bytes = await this.store.getRange(this.path, s, e);
        return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      },
    };
  }
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
    readonly path: string,
  ) {}

  static async open(store: ObjectStore, path: string, size?: number): Promise<ParquetSource> {
    const bytes = size ?? (await store.head(path)).size;
    try {
      const file = await pq.ParquetFile.fromFile(new StoreBlob(store, path, bytes) as unknown as Blob);
      return new ParquetSource(file, path);
    } catch (err) {
      if (err instanceof LakehouseError) throw err;
      throw new LakehouseError(
        'STORAGE',
        `parquet: cannot open ${path}: ${String((err as Error)?.message ?? err)}`,
        { cause: err },
      );
    }
  }

  /** The Arrow schema as stored (field names and types exactly as the writer chose). */
  schema(): import('apache-arrow').Schema {
    const s = this.file.schema();
    return tableFromIPC(s.intoIPCStream()).schema;
  }

  get numRows(): number {
    const meta = this.file.metadata();
    return meta.fileMetadata().numRows();
  }

  /** Stream the file's rows as Arrow batches, in file order. */
  async *batches(options: ParquetReadOptions = {}): AsyncGenerator<RecordBatch> {
    let stream: ReadableStream<pq.RecordBatch>;
    try {
      stream = await this.file.stream({
        batchSize: options.batchSize ?? 65_536,
        ...(options.columns ? { columns: options.columns } : {}),
      });
    } catch (err) {
      throw new LakehouseError(
        'STORAGE',
        `parquet: cannot read ${this.path}: ${String((err as Error)?.message ?? err)}`,
        { cause: err },
      );
    }
    for await (const wasmBatch of stream as unknown as AsyncIterable<pq.RecordBatch>) {
      const table = tableFromIPC(wasmBatch.intoIPCStream());
      for (const b of table.batches) yield b;
    }
  }

  close(): void {
    this.file.free();
  }
}
