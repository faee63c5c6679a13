/**
 * parquet-wasm (arrow-rs compiled to WebAssembly), loaded on first use. Loading it compiles a
 * 5 MB WebAssembly module, about 16 MiB of resident memory; a process whose Parquet work runs on
 * the worker threads (`data/parquet-workers.ts`), or that only reads the log, never pays for it in its
 * main thread.
 */
import { createRequire } from 'node:module';
import type * as ParquetWasm from 'parquet-wasm/node';

export type { ParquetWasm };

let loaded: typeof ParquetWasm | undefined;

export function parquetWasm(): typeof ParquetWasm {
  return (loaded ??= createRequire(import.meta.url)('parquet-wasm/node') as typeof ParquetWasm);
}

/** Whether this thread has loaded parquet-wasm (for tests of the above). */
export function parquetWasmLoaded(): boolean {
  return loaded !== undefined;
}
