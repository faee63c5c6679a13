/**
 * Parquet encoding and decoding on worker threads: a small pool of `node:worker_threads` workers,
 * each with its own parquet-wasm instance, so files are encoded (or decoded) in parallel with each
 * other and with the main thread's work (reading input, splitting partitions, statistics, uploads,
 * the consumer of a scan).
 *
 * Contract:
 * - `encodeParquet(batches, options)` resolves to the same bytes `writeParquetFile` returns
 *   (same writer properties), or rejects with INTERNAL naming the encoder's error.
 * - `ParquetPool.decode(file, ranges, batchSize, path)` decodes rows of a whole Parquet file held
 *   in memory (parquet-wasm's synchronous reader: a corrupt page is an ordinary error), resolving
 *   to Arrow IPC streams, one per range; it rejects with STORAGE naming the file and the error.
 * - Data crosses threads as buffers that are transferred, not copied: batches go to an encoder as
 *   one Arrow IPC stream, Parquet bytes and decoded IPC streams come back the same way.
 * - At most `size` jobs run at once (one per worker); further calls queue. Workers start on first
 *   use, keep the process alive only while they have work, and a worker whose job failed is
 *   replaced (a WebAssembly trap may leave its instance unusable).
 * - With one usable core (or `LAKEHOUSE_PARQUET_THREADS=0`) there is no pool: encoding runs in the
 *   calling thread and `parquetThreads()` is 0 (callers then decode in their own thread).
 *
 * Memory: each busy worker holds one file's bytes, its WebAssembly heap (which never shrinks) and
 * its output; callers bound how many files they keep in flight (`DataFileWriter`, `TableScan`).
 */
import { createRequire } from 'node:module';
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { type RecordBatch, Table, tableToIPC } from 'apache-arrow';
import { LakehouseError } from '../errors.js';
import {
  DEFAULT_ROW_GROUP_ROWS,
  type ParquetWriteOptions,
  plainEncodedColumns,
  writeParquetFile,
  writerCodec,
} from './parquet-io.js';

/** What a worker needs to build the writer properties (numbers and strings only). */
interface EncodeProps {
  codec: number;
  rowGroupRows: number;
  rowGroupBytes?: number;
  createdBy: string;
  /** Columns written without a dictionary (`plainEncodedColumns`). */
  plain: string[];
}

/** A row group, or rows [offset, offset + limit) of it. */
export interface DecodeRange {
  rowGroup: number;
  offset?: number;
  limit?: number;
}

/** The worker's code: CommonJS (parquet-wasm's Node build is CommonJS), loaded by absolute path. */
function workerSource(parquetWasmPath: string): string {
  return `
const { parentPort } = require('node:worker_threads');
const pq = require(${JSON.stringify(parquetWasmPath)});
function encode(m) {
  let b = new pq.WriterPropertiesBuilder()
    .setCompression(m.props.codec)
    .setMaxRowGroupSize(m.props.rowGroupRows)
    .setStatisticsEnabled(pq.EnabledStatistics.Page)
    .setCreatedBy(m.props.createdBy);
  if (m.props.rowGroupBytes) b = b.setMaxRowGroupBytes(m.props.rowGroupBytes);
  for (const name of m.props.plain) b = b.setColumnDictionaryEnabled(name, false);
  const bytes = pq.writeParquet(pq.Table.fromIPCStream(m.ipc), b.build());
  parentPort.postMessage({ id: m.id, bytes }, [bytes.buffer]);
}
function decode(m) {
  const ipcs = m.ranges.map((r) => {
    const opts = { rowGroups: [r.rowGroup], batchSize: m.batchSize };
    if (r.offset !== undefined) { opts.offset = r.offset; opts.limit = r.limit; }
    return pq.readParquet(m.file, opts).intoIPCStream();
  });
  parentPort.postMessage({ id: m.id, ipcs }, ipcs.map((b) => b.buffer));
}
parentPort.on('message', (m) => {
  try {
    if (m.kind === 'decode') decode(m); else encode(m);
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
  }
});
`;
}

interface Reply {
  id: number;
  error?: string;
  bytes?: Uint8Array;
  ipcs?: Uint8Array[];
}

interface Job {
  id: number;
  /** The message for the worker (without `id`) and the buffers it transfers. */
  message: Record<string, unknown>;
  transfer: ArrayBuffer[];
  resolve: (reply: Reply) => void;
  reject: (err: unknown) => void;
  /** The error for a failure the worker reports. */
  failure: (message: string) => LakehouseError;
}

interface Slot {
  worker: Worker;
  job?: Job;
}

/** Worker threads to use: `LAKEHOUSE_PARQUET_THREADS` when set, else the cores (at most 4); 0 = none. */
export function parquetThreads(): number {
  const env = process.env.LAKEHOUSE_PARQUET_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (Number.isInteger(n) && n >= 0) return n;
  }
  const cores = os.availableParallelism();
  return cores <= 1 ? 0 : Math.min(4, cores);
}

export class ParquetPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 0;
  private readonly source: string;

  constructor(readonly size: number) {
    const require = createRequire(import.meta.url);
    this.source = workerSource(require.resolve('parquet-wasm/node'));
  }

  async encode(batches: readonly RecordBatch[], options: ParquetWriteOptions = {}): Promise<Uint8Array> {
    if (batches.length === 0)
      throw new LakehouseError('INTERNAL', 'parquet: no batches to write (this is a bug)');
    const ipc = tableToIPC(new Table(batches as RecordBatch[]), 'stream');
    const props: EncodeProps = {
      codec: writerCodec(options.compression),
      rowGroupRows: options.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS,
      createdBy: options.createdBy ?? 'lakehouse-kit',
      plain: [...(options.plainColumns ?? plainEncodedColumns(batches))],
      ...(options.rowGroupBytes ? { rowGroupBytes: options.rowGroupBytes } : {}),
    };
    const reply = await this.run(
      { kind: 'encode', ipc, props },
      [ipc.buffer as ArrayBuffer],
      (m) => new LakehouseError('INTERNAL', `parquet: encoding failed: ${m}`),
    );
    return reply.bytes!;
  }

  /**
   * Decode `ranges` of a whole Parquet file, one Arrow IPC stream per range. The file's buffer is
   * transferred (pass bytes you can give away); `path` names the file in errors.
   */
  async decode(
    file: Uint8Array,
    ranges: readonly DecodeRange[],
    batchSize: number,
    path: string,
  ): Promise<Uint8Array[]> {
    const reply = await this.run(
      { kind: 'decode', file, ranges, batchSize },
      [file.buffer as ArrayBuffer],
      (m) => new LakehouseError('STORAGE', `parquet: ${path}: ${m} (the file is corrupt or not Parquet)`),
    );
    return reply.ipcs!;
  }

  /**
   * Start every worker now, idle (they do not keep the process alive): their start-up (about
   * 50 ms each, most of it compiling parquet-wasm) then overlaps the caller's first reads.
   */
  warm(): void {
    while (this.slots.length < this.size) this.spawn().worker.unref();
  }

  private run(
    message: Record<string, unknown>,
    transfer: ArrayBuffer[],
    failure: (message: string) => LakehouseError,
  ): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, message, transfer, resolve, reject, failure });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.job);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const job = this.queue.shift()!;
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage({ ...job.message, id: job.id }, job.transfer);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(this.source, { eval: true });
    const slot: Slot = { worker };
    worker.on('message', (m: Reply) => {
      const job = slot.job;
      if (!job || job.id !== m.id) return;
      slot.job = undefined;
      if (m.error !== undefined) {
        job.reject(job.failure(m.error));
        this.retire(slot); // a trap may have left its WebAssembly instance unusable
      } else {
        job.resolve(m);
        worker.unref();
      }
      this.dispatch();
    });
    const fail = (err: unknown): void => {
      const job = slot.job;
      slot.job = undefined;
      this.retire(slot);
      job?.reject(
        new LakehouseError(
          'INTERNAL',
          `parquet: a Parquet worker thread failed: ${String((err as Error)?.message ?? err)}`,
          { cause: err },
        ),
      );
      this.dispatch();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (this.slots.includes(slot)) fail(new Error(`worker exited with code ${code}`));
    });
    this.slots.push(slot);
    return slot;
  }

  private retire(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    void slot.worker.terminate();
  }

  /** Stop every worker (queued jobs reject). */
  async close(): Promise<void> {
    const slots = this.slots.splice(0);
    for (const job of this.queue.splice(0))
      job.reject(new LakehouseError('INTERNAL', 'parquet: the Parquet worker pool was closed'));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}

let shared: ParquetPool | undefined;

/** The process's pool, or undefined when there is none (`parquetThreads()` is 0). */
export function sharedParquetPool(): ParquetPool | undefined {
  const threads = parquetThreads();
  if (threads === 0) return undefined;
  return (shared ??= new ParquetPool(threads));
}

/**
 * Encode batches as one Parquet file, on the shared worker pool when there is one (see the module
 * contract), else in this thread.
 */
export async function encodeParquet(
  batches: readonly RecordBatch[],
  options: ParquetWriteOptions = {},
): Promise<Uint8Array> {
  const pool = sharedParquetPool();
  return pool ? pool.encode(batches, options) : writeParquetFile(batches, options);
}
