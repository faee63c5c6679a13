import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import type * as ParquetWasm from 'parquet-wasm/node';
import { writerCodec } from '../../lib/data/parquet-io.js';

describe('parquet-wasm is loaded only where it is used', () => {
  it("names codecs with parquet-wasm's own codes", () => {
    const pq = createRequire(import.meta.url)('parquet-wasm/node') as typeof ParquetWasm;
    expect(writerCodec('uncompressed')).toBe(pq.Compression.UNCOMPRESSED);
    expect(writerCodec('snappy')).toBe(pq.Compression.SNAPPY);
    expect(writerCodec('gzip')).toBe(pq.Compression.GZIP);
    expect(writerCodec('zstd')).toBe(pq.Compression.ZSTD);
    expect(writerCodec('lz4')).toBe(pq.Compression.LZ4_RAW);
  });

  it('is not loaded by importing the operations or the log reader', () => {
    // A child process: this jest worker may have loaded it already.
    const dist = new URL('../../dist/lib/', import.meta.url).href;
    const script = `
      const { parquetWasmLoaded } = await import('${dist}parquet-wasm.js');
      await import('${dist}ops/optimize.js');
      await import('${dist}ops/scan.js');
      await import('${dist}ops/vacuum.js');
      await import('${dist}delta/snapshot.js');
      console.log(parquetWasmLoaded());
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(out.trim()).toBe('false');
  });
});
