/**
 * Memory budgets for maintenance operations and writes (`--memory-limit`).
 *
 * Contract: an operation given a limit either plans its work so that its estimated peak resident
 * memory — what the process already uses, plus what the operation holds at its busiest — stays
 * under `limit × (1 − GC_HEADROOM)`, or refuses up front with `MEMORY_LIMIT`, before it writes
 * anything, naming the estimate, its parts and the limit to use instead. The estimates are
 * deliberately pessimistic factors measured on this code (see each constant); the benchmarks
 * (`bench/`, scenarios `optimize-budget` and `zorder-budget`) check the real peak against them.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { LakehouseError } from '../errors.js';
import { parquetWasm } from '../parquet-wasm.js';

const MIB = 1024 * 1024;

/** Peak bytes while writing a file, per Parquet byte written: Arrow buffers, IPC copy, WebAssembly table, encoded bytes. */
export const WRITE_BYTES_PER_PARQUET_BYTE = 12;
/** Arrow bytes per Parquet byte, for estimates before any data is read. */
export const ARROW_BYTES_PER_PARQUET_BYTE = 3;
/** Reserved for reading: decoded row groups and batches in flight. */
export const READ_MARGIN_BYTES = 96 * MIB;
/** Share of the memory limit kept free for garbage not yet collected and native memory the estimates miss (measured: peaks up to 15% over the estimate at small limits). */
export const GC_HEADROOM = 0.2;
/** The smallest data file worth writing under a memory cap. */
export const MIN_OUTPUT_FILE = MIB;

/** `123 MiB` or `1.5 GiB`, rounded up, for messages. */
export function formatMiB(n: number): string {
  return n >= 1024 * MIB ? `${(n / (1024 * MIB)).toFixed(1)} GiB` : `${Math.ceil(n / MIB)} MiB`;
}

/**
 * The process's resident memory now (the baseline every estimate starts from). parquet-wasm is
 * loaded first: a budgeted operation decodes Parquet in this thread, and loading it later would
 * add ~16 MiB the budget never counted.
 */
export function residentBytes(): number {
  parquetWasm();
  return process.memoryUsage().rss;
}

/** Bytes an operation may use on top of `baseline` under `limit` (negative when none). */
export function availableUnder(limit: number, baseline: number, reserved = 0): number {
  return limit * (1 - GC_HEADROOM) - baseline - reserved;
}

/** The limit that would fit `baseline + need` with the headroom kept. */
export function limitFor(baselinePlusNeed: number): number {
  return baselinePlusNeed / (1 - GC_HEADROOM);
}

/**
 * Plan of a write under a memory limit: rows are buffered per partition up to `maxBufferedBytes`
 * (Arrow bytes, all partitions together; the largest buffer is flushed early past it) and files
 * are written at most `targetFileSize` bytes, so that buffers plus the copies of the one file
 * being encoded stay within the budget.
 */
export interface WriteMemoryPlan {
  targetFileSize: number;
  maxBufferedBytes: number;
  estimatedPeakMemory: number;
  memoryLimit: number;
}

/**
 * Size a writer's buffers and files for `limit`: half the budget for buffered rows, the other
 * half for encoding one file (its copies beyond the Arrow rows already counted in the buffers).
 * Throws MEMORY_LIMIT (naming `op`) when not even a 1 MiB file fits.
 */
export function planWriteMemory(
  op: string,
  limit: number,
  targetFileSize: number,
  baseline = residentBytes(),
): WriteMemoryPlan {
  const available = availableUnder(limit, baseline, READ_MARGIN_BYTES);
  const encodeFactor = WRITE_BYTES_PER_PARQUET_BYTE - ARROW_BYTES_PER_PARQUET_BYTE;
  const fileSize = Math.min(targetFileSize, Math.floor(available / 2 / encodeFactor));
  if (!(fileSize >= Math.min(MIN_OUTPUT_FILE, targetFileSize))) {
    const minimum = MIN_OUTPUT_FILE * (ARROW_BYTES_PER_PARQUET_BYTE + encodeFactor) * 2;
    throw new LakehouseError(
      'MEMORY_LIMIT',
      `${op}: --memory-limit ${formatMiB(limit)} is too small: this process already uses ${formatMiB(baseline)}, ` +
        `reading the input needs about ${formatMiB(READ_MARGIN_BYTES)}, buffering rows and writing even a 1 MiB file about ` +
        `${formatMiB(minimum)}, and ${Math.round(GC_HEADROOM * 100)}% is kept free for garbage collection; raise --memory-limit to at least ` +
        `${formatMiB(limitFor(baseline + READ_MARGIN_BYTES + minimum))}`,
    );
  }
  const maxBufferedBytes = Math.max(fileSize * ARROW_BYTES_PER_PARQUET_BYTE, Math.floor(available / 2));
  return {
    targetFileSize: fileSize,
    maxBufferedBytes,
    estimatedPeakMemory: baseline + READ_MARGIN_BYTES + maxBufferedBytes + fileSize * encodeFactor,
    memoryLimit: limit,
  };
}

let gcFunction: (() => void) | null | undefined;

/**
 * Run a full garbage collection now, when the runtime allows it (returns whether it ran). Under a
 * memory limit, operations call it between stages that drop many Arrow buffers: V8 frees
 * external (ArrayBuffer) memory only when its own heap, often small here, asks for a collection,
 * so without it dead buffers pile up past the budget.
 */
export function collectGarbage(): boolean {
  if (gcFunction === undefined) {
    gcFunction = (globalThis as { gc?: () => void }).gc ?? null;
    if (!gcFunction) {
      try {
        v8.setFlagsFromString('--expose-gc');
        gcFunction = vm.runInNewContext('gc') as () => void;
      } catch {
        gcFunction = null;
      }
    }
  }
  if (!gcFunction) return false;
  gcFunction();
  return true;
}
