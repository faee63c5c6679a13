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
import { LakehouseError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { ParquetPool } from './parquet-workers.js';
import { type ParquetWasm, parquetWasm } from '../parquet-wasm.js';

export type ParquetCompression = 'snappy' | 'zstd' | 'gzip' | 'lz4' | 'uncompressed';

/** The codec part of a data file name (`part-…c000.<codec>.parquet`); '' for uncompressed. */
export const CODEC_SUFFIX: Record<ParquetCompression, string> = {
  snappy: 'snappy',
  zstd: 'zstd',
  gzip: 'gz',
  lz4: 'lz4',
  uncompressed: '',
};

/**
 * parquet-wasm's `Compression` codes (see its typings), as numbers: naming a codec must not load
 * parquet-wasm into a thread that does not encode.
 */
const CODECS: Record<ParquetCompression, number> = {
  uncompressed: 0,
  snappy: 1,
  gzip: 2,
  zstd: 5,
  lz4: 6, // LZ4_RAW
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
  /** Columns written without a dictionary; default `plainEncodedColumns(batches)`. */
  plainColumns?: readonly string[];
}

export const DEFAULT_ROW_GROUP_ROWS = 1_048_576;

/** parquet-wasm's code for a codec (what the encoding workers are given). */
export function writerCodec(compression: ParquetCompression = 'snappy'): number {
  return CODECS[compression];
}

/** Values looked at per column to decide whether a dictionary pays. */
const DICTIONARY_SAMPLE = 2048;
/** arrow-rs's dictionary page size limit: past it a column chunk falls back to PLAIN. */
const DICTIONARY_PAGE_LIMIT = 1024 * 1024;

/**
 * Top-level primitive columns to write without a dictionary. arrow-rs dictionary-encodes every
 * column until its dictionary page passes 1 MiB and then falls back to PLAIN; for ids, measures
 * and timestamps that work is wasted (a quarter of the encoding time on the benchmark's
 * 10-column table) and the file grows by the abandoned dictionary. From a sample of up to 2,048
 * values spread over the rows (read straight from the Arrow buffers) the number of distinct
 * values is estimated (all of them when the sample sees each value twice or more on average,
 * else from the repeats in the sample, as in the birthday problem, and the share of those values
 * the rows show); a column goes PLAIN when that is more than half of its rows (the indices then
 * save less than the dictionary costs, once compressed: measured on 33,000-row files) or when its
 * dictionary would pass the 1 MiB limit. So 50,000 SKUs keep their dictionary in a file of a
 * million rows (about 700 KB, 4% smaller than PLAIN) and go PLAIN in one of 33,000 rows, and
 * unique ids never get one.
 */
export function plainEncodedColumns(batches: readonly RecordBatch[]): string[] {
  const rows = batches.reduce((n, b) => n + b.numRows, 0);
  if (rows < 64 || batches.length === 0) return [];
  const step = Math.max(1, Math.floor(rows / DICTIONARY_SAMPLE));
  const out: string[] = [];
  batches[0]!.schema.fields.forEach((field, c) => {
    const seen = new Set<unknown>();
    let sampled = 0;
    let sampledBytes = 0;
    let row = 0;
    for (const b of batches) {
      const data = b.data.children[c];
      if (!data) return;
      const sample = sampler(data);
      if (!sample) return; // nested, boolean, dictionary: arrow-rs's default
      for (let i = row % step === 0 ? 0 : step - (row % step); i < b.numRows; i += step) {
        if (data.nullCount > 0 && !data.getValid(i)) continue;
        seen.add(sample.key(i));
        sampledBytes += sample.bytes(i);
        sampled++;
      }
      row += b.numRows;
    }
    if (sampled < 64) return;
    const distinct = seen.size;
    const repeats = sampled - distinct;
    let estimate: number;
    if (step === 1 || distinct * 2 <= sampled) estimate = distinct;
    else estimate = repeats > 0 ? (sampled * sampled) / (2 * repeats) : Infinity;
    const nonNullRows = (rows * sampled) / Math.ceil(rows / step);
    // The repeats estimate the values the column draws from; this many rows show fewer of them.
    if (estimate > distinct)
      estimate = Number.isFinite(estimate) ? estimate * -Math.expm1(-nonNullRows / estimate) : nonNullRows;
    estimate = Math.min(estimate, nonNullRows);
    const dictionaryBytes = estimate * (sampledBytes / sampled);
    if (estimate >= 0.5 * nonNullRows || dictionaryBytes > DICTIONARY_PAGE_LIMIT) out.push(field.name);
  });
  return out;
}

/**
 * A comparable key of value `i` read from the buffers and its size in a dictionary page, or
 * undefined for layouts not sampled.
 */
function sampler(data: Data): { key: (i: number) => unknown; bytes: (i: number) => number } | undefined {
  const id = data.type.typeId;
  const values = data.values as ArrayLike<number | bigint> | undefined;
  if (!values) return undefined;
  if (id === Type.Utf8 || id === Type.Binary) {
    const offsets = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    // A hash of the length and the first and last 32 bytes: a collision only counts as a repeat.
    const hash = (h: number, from: number, to: number): number => {
      for (let k = from; k < to; k++) h = Math.imul(h ^ bytes[k]!, 16777619);
      return h;
    };
    return {
      key: (i) => {
        const start = offsets[i]!;
        const end = offsets[i + 1]!;
        const h = hash((end - start) | 0, start, Math.min(end, start + 32));
        return end - start > 32 ? hash(h, Math.max(start + 32, end - 32), end) : h;
      },
      bytes: (i) => 4 + offsets[i + 1]! - offsets[i]!,
    };
  }
  const fixed =
    id === Type.Int ||
    id === Type.Float ||
    id === Type.Date ||
    id === Type.Timestamp ||
    id === Type.Time ||
    id === Type.Decimal ||
    id === Type.FixedSizeBinary;
  if (!fixed) return undefined;
  const stride = data.stride;
  const width = stride * ((values as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1);
  return {
    key:
      stride === 1
        ? (i) => values[i]
        : (i) => Array.prototype.slice.call(values, i * stride, (i + 1) * stride).join(','),
    bytes: () => width,
  };
}

/** Encode batches (all of one schema) as one Parquet file. */
export function writeParquetFile(
  batches: readonly RecordBatch[],
  options: ParquetWriteOptions = {},
): Uint8Array {
  if (batches.length === 0)
    throw new LakehouseError('INTERNAL', 'parquet: no batches to write (this is a bug)');
  const pq = parquetWasm();
  let builder = new pq.WriterPropertiesBuilder()
    .setCompression(CODECS[options.compression ?? 'snappy'] as ParquetWasm.Compression)
    .setMaxRowGroupSize(options.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS)
    // Page: also the page index (column and offset index), so readers skip pages inside a file.
    .setStatisticsEnabled(pq.EnabledStatistics.Page)
    .setCreatedBy(options.createdBy ?? 'lakehouse-kit');
  if (options.rowGroupBytes) builder = builder.setMaxRowGroupBytes(options.rowGroupBytes);
  for (const name of options.plainColumns ?? plainEncodedColumns(batches))
    builder = builder.setColumnDictionaryEnabled(name, false);
  const ipc = tableToIPC(new Table(batches as RecordBatch[]), 'stream');
  const wasmTable = pq.Table.fromIPCStream(ipc);
  try {
    return pq.writeParquet(wasmTable, builder.build());
  } finally {
    // writeParquet consumes the table; freeing twice is harmless in wasm-bindgen only if not consumed.
  }
}

/**
 * A Blob-like view of an object, each slice read by one ranged GET (what parquet-wasm asks for),
 * or served from bytes already read (`cache`).
 *
 * A rejected read must never reach parquet-wasm: a rejection inside its reader aborts the
 * WebAssembly instance ("unreachable"), which takes the whole process down. So a failed read
 * hands back zeros of the right length, which the decoder rejects as a normal error, and the
 * real cause is kept in `failure` for the caller to report instead. Zeros can still make
 * parquet-wasm's asynchronous reader trap (it panics on some malformed pages), so `ParquetSource`
 * reads everything the reader will ask for into `cache` first, in JavaScript, where a failure is
 * an ordinary rejection.
 */
class StoreBlob {
  failure: unknown;
  /** Byte ranges already read: a slice inside one of them is served without a request. */
  readonly cache = new Map<string, { start: number; bytes: Uint8Array }>();

  constructor(
    readonly store: ObjectStore,
    private readonly path: string,
    readonly size: number,
  ) {}

  slice(start: number, end: number): { arrayBuffer(): Promise<ArrayBuffer> } {
    const s = Math.max(0, Math.floor(start));
    const e = Math.min(this.size, Math.floor(end));
    return {
      arrayBuffer: async () => {
        for (const c of this.cache.values()) {
          if (s >= c.start && e <= c.start + c.bytes.byteLength) {
            const from = c.bytes.byteOffset + s - c.start;
            return c.bytes.buffer.slice(from, from + e - s) as ArrayBuffer;
          }
        }
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

/**
 * Files up to this size are read whole (one GET) and decoded by parquet-wasm's synchronous
 * reader, which reports a corrupt page as an ordinary error; its asynchronous reader panics on
 * some corrupt pages ("RuntimeError: unreachable", thrown from a microtask, so it kills the
 * process and leaves every later asynchronous read hanging). Larger files are streamed, a row
 * group at a time, after that row group's column chunks were read in JavaScript.
 */
export const WHOLE_FILE_DECODE_MAX_BYTES = 32 * 1024 * 1024;

/** A range read that must return exactly `end - start` bytes. */
async function readExactly(
  store: ObjectStore,
  path: string,
  start: number,
  end: number,
): Promise<Uint8Array> {
  const bytes = await store.getRange(path, start, end);
  if (bytes.byteLength !== end - start)
    throw new LakehouseError(
      'STORAGE',
      `parquet: ${path}: short read (${bytes.byteLength} of ${end - start} bytes at ${start}); the object changed or is truncated`,
    );
  return bytes;
}

/** A decoder failure as a STORAGE error naming the file (a bad file, not a failed request). */
function corruptParquet(path: string, where: string, err: unknown): LakehouseError {
  return new LakehouseError(
    'STORAGE',
    `parquet: ${path}: ${where}: ${String((err as Error)?.message ?? err)} (the file is corrupt or not Parquet)`,
    { cause: err },
  );
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
  /**
   * Read only these rows (row group, then `offset`/`limit` rows within it), in order; all rows
   * when absent. Pages outside them are skipped undecoded.
   */
  rowRanges?: readonly RowRange[];
  /**
   * Decode on these worker threads (`parquet-workers.ts`) instead of this one, when the file was
   * read whole (at most `WHOLE_FILE_DECODE_MAX_BYTES`); larger files are decoded here.
   */
  decodePool?: ParquetPool;
}

/** Rows [offset, offset + limit) of row group `rowGroup`. */
export interface RowRange {
  rowGroup: number;
  offset: number;
  limit: number;
}

/** A top-level column as the file's footer names it. */
export interface FileColumn {
  name: string;
  /** Its Parquet field id (column mapping mode `id`), as text like Arrow's `PARQUET:field_id`. */
  fieldId?: string;
  /** Stored as INT96 (Spark's legacy timestamps). */
  int96: boolean;
}

/** An open Parquet file read by ranges. */
export class ParquetSource {
  private constructor(
    private readonly blob: StoreBlob,
    readonly path: string,
    /** The footer, decoded in JavaScript (byte ranges of the column chunks). */
    private readonly footer: FileMetaData,
    /** The whole file, when it is small enough to be decoded synchronously. */
    private whole: Uint8Array | undefined,
  ) {}

  /**
   * Open a Parquet object. `size` (e.g. `add.size`) saves a HEAD request. Rejects with NOT_FOUND
   * when the object is missing, STORAGE when it is not a readable Parquet file (the message names
   * it), and with the store's own error (e.g. STORAGE_TRANSIENT) when a request fails. The footer
   * is read and checked in JavaScript before parquet-wasm sees any byte. A file up to
   * `WHOLE_FILE_DECODE_MAX_BYTES` costs one read (after a HEAD when no size is given).
   */
  static async open(store: ObjectStore, path: string, size?: number): Promise<ParquetSource> {
    const bytes = size ?? (await store.head(path)).size;
    // Small files are read whole, in one request; else the tail first. Either way a missing or
    // truncated object fails here, cleanly, not inside the decoder.
    const whole =
      bytes >= 12 && bytes <= WHOLE_FILE_DECODE_MAX_BYTES
        ? await readExactly(store, path, 0, bytes)
        : undefined;
    const tail = whole
      ? whole.subarray(bytes - 8)
      : await store.getRange(path, Math.max(0, bytes - 8), bytes);
    if (tail.byteLength !== Math.min(8, bytes) || new TextDecoder().decode(tail.subarray(4)) !== 'PAR1') {
      throw new LakehouseError(
        'STORAGE',
        `parquet: ${path} is not a Parquet file of ${bytes} bytes (no PAR1 footer there)`,
      );
    }
    const footerLength = new DataView(tail.buffer, tail.byteOffset, 8).getUint32(0, true);
    if (footerLength + 12 > bytes)
      throw new LakehouseError(
        'STORAGE',
        `parquet: ${path}: footer length ${footerLength} does not fit in ${bytes} bytes (the file is corrupt)`,
      );
    const blob = new StoreBlob(store, path, bytes);
    if (whole) {
      blob.cache.set('file', { start: 0, bytes: whole });
    } else {
      const start = bytes - 8 - footerLength;
      blob.cache.set('footer', { start, bytes: await readExactly(store, path, start, bytes) });
    }
    let footer: FileMetaData;
    try {
      footer = await parquetMetadataAsync({
        byteLength: bytes,
        slice: (start, end) => blob.slice(start, end ?? bytes).arrayBuffer(),
      });
    } catch (err) {
      throw corruptParquet(path, 'footer', err);
    }
    return new ParquetSource(blob, path, footer, whole);
  }

  /** parquet-wasm's view of the file, made when first needed (streaming, the Arrow schema). */
  private async wasmFile(): Promise<ParquetWasm.ParquetFile> {
    if (this.file) return this.file;
    try {
      return (this.file = await parquetWasm().ParquetFile.fromFile(this.blob as unknown as Blob));
    } catch (err) {
      throw readError(this.blob, this.path, err);
    }
  }

  private file?: ParquetWasm.ParquetFile;

  /** The Arrow schema as stored (field names and types exactly as the writer chose). */
  async schema(): Promise<Schema> {
    if (this.arrowSchema) return this.arrowSchema;
    const file = await this.wasmFile();
    return (this.arrowSchema = tableFromIPC(file.schema().intoIPCStream()).schema);
  }

  private arrowSchema?: Schema;

  /** The top-level columns, from the footer (no decoding). */
  columns(): FileColumn[] {
    const elements = this.footer.schema;
    const out: FileColumn[] = [];
    // The footer lists the schema tree depth first; skip each column's descendants.
    const skip = (i: number): number => {
      let next = i + 1;
      for (let c = 0; c < (elements[i]!.num_children ?? 0); c++) next = skip(next);
      return next;
    };
    const count = elements[0]?.num_children ?? 0;
    for (let c = 0, i = 1; c < count && i < elements.length; c++) {
      const e = elements[i]!;
      out.push({
        name: e.name,
        ...(e.field_id !== undefined ? { fieldId: String(e.field_id) } : {}),
        int96: !e.num_children && e.type === 'INT96',
      });
      i = skip(i);
    }
    return out;
  }

  get numRows(): number {
    return Number(this.footer.num_rows);
  }

  /** The footer as hyparquet decodes it (row groups, column chunks, statistics, index offsets). */
  get metadata(): FileMetaData {
    return this.footer;
  }

  /** Bytes [start, end) of the file (served from what was already read when possible). */
  async readRange(start: number, end: number): Promise<Uint8Array> {
    for (const c of this.blob.cache.values())
      if (start >= c.start && end <= c.start + c.bytes.byteLength)
        return c.bytes.subarray(start - c.start, end - c.start);
    return readExactly(this.blob.store, this.path, start, end);
  }

  /**
   * Top-level columns stored as INT96 (Spark's legacy timestamps). arrow-rs decodes them to
   * 64-bit nanoseconds, which overflow outside 1677..2262; `batches` re-reads these columns
   * with hyparquet, which decodes INT96 exactly, and returns microseconds. Only files with an
   * INT96 column (in the footer) pay for the Arrow schema this checks against.
   */
  private async int96Columns(): Promise<{ names: Set<string>; metadata?: FileMetaData }> {
    if (this.int96) return this.int96;
    const stored = this.columns().filter((c) => c.int96);
    if (stored.length === 0) return (this.int96 = { names: new Set() });
    const candidates = (await this.schema()).fields.filter(
      (f) =>
        f.type.typeId === Type.Timestamp &&
        (f.type as unknown as { unit: TimeUnit }).unit === TimeUnit.NANOSECOND &&
        !(f.type as unknown as { timezone: string | null }).timezone,
    );
    const names = new Set(stored.filter((c) => candidates.some((f) => f.name === c.name)).map((c) => c.name));
    return (this.int96 = names.size > 0 ? { names, metadata: this.footer } : { names });
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
    // INT96 columns are re-read by file row number: read every row then.
    if (int96.names.size > 0 && options.rowRanges) options = { ...options, rowRanges: undefined };
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
    const readerOptions = {
      batchSize: options.batchSize ?? 65_536,
      ...(options.columns ? { columns: options.columns } : {}),
    };
    const ranges: { rowGroup: number; offset?: number; limit?: number }[] = options.rowRanges
      ? [...options.rowRanges]
      : this.footer.row_groups.map((_, g) => ({ rowGroup: g }));
    if (this.whole && options.decodePool) {
      // One job for the file: a copy of its bytes goes to a worker, decoded IPC streams come back.
      // The bytes are given away when nothing reads them again (INT96 columns are re-read) and
      // they own their buffer; else a copy goes.
      const whole = this.whole;
      const giveAway =
        !options.columns?.some((c) => this.int96?.names.has(c)) &&
        (this.int96?.names.size ?? 1) === 0 &&
        whole.byteOffset === 0 &&
        whole.byteLength === whole.buffer.byteLength;
      if (giveAway) {
        this.whole = undefined;
        for (const [k, c] of this.blob.cache) if (c.bytes === whole) this.blob.cache.delete(k);
      }
      const ipcs = await options.decodePool.decode(
        giveAway ? whole : whole.slice(),
        ranges,
        readerOptions.batchSize,
        this.path,
      );
      for (const ipc of ipcs) {
        let decoded = tableFromIPC(ipc);
        if (options.columns) decoded = decoded.select(options.columns);
        yield* decoded.batches;
      }
      return;
    }
    for (const { rowGroup: g, offset, limit } of ranges) {
      const rows = offset !== undefined ? { offset, limit } : {};
      if (this.whole) {
        let table: ParquetWasm.Table;
        try {
          table = parquetWasm().readParquet(this.whole, { ...readerOptions, ...rows, rowGroups: [g] });
        } catch (err) {
          throw corruptParquet(this.path, `row group ${g}`, err);
        }
        let decoded = tableFromIPC(table.intoIPCStream());
        // parquet-wasm 0.8's readParquet ignores `columns` (its stream honors them): project here.
        if (options.columns) decoded = decoded.select(options.columns);
        yield* decoded.batches;
        continue;
      }
      // Everything the reader will ask for, read first (a failed request rejects here).
      const [start, end] = this.chunkSpan(g, options.columns);
      if (end > start)
        this.blob.cache.set('rowGroup', {
          start,
          bytes: await readExactly(this.blob.store, this.path, start, end),
        });
      yield* this.streamRowGroup(g, { ...readerOptions, ...rows });
      this.blob.cache.delete('rowGroup');
    }
  }

  /** The byte range covering row group `g`'s column chunks of `columns` (top-level names; all when absent). */
  private chunkSpan(g: number, columns: string[] | undefined): [number, number] {
    let start = Number.MAX_SAFE_INTEGER;
    let end = 0;
    for (const chunk of this.footer.row_groups[g]!.columns) {
      const meta = chunk.meta_data;
      if (!meta) continue;
      if (columns && !columns.includes(meta.path_in_schema[0]!)) continue;
      const first = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
      start = Math.min(start, first, Number(meta.data_page_offset));
      end = Math.max(end, first + Number(meta.total_compressed_size));
    }
    if (end > this.blob.size || start > end)
      throw new LakehouseError(
        'STORAGE',
        `parquet: ${this.path}: row group ${g} claims bytes [${start}, ${end}) of a ${this.blob.size}-byte file (the file is corrupt)`,
      );
    return end === 0 ? [0, 0] : [start, end];
  }

  private async *streamRowGroup(
    g: number,
    readerOptions: { batchSize: number; columns?: string[]; offset?: number; limit?: number },
  ): AsyncGenerator<RecordBatch> {
    const file = await this.wasmFile();
    let stream: ReadableStream<ParquetWasm.RecordBatch>;
    try {
      stream = (await file.stream({
        ...readerOptions,
        rowGroups: [g],
      })) as ReadableStream<ParquetWasm.RecordBatch>;
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
    this.file?.free();
    this.file = undefined;
  }
}
