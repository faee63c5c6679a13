import type { ObjectStore } from '../storage/object-store.js';

/**
 * A hyparquet `AsyncBuffer` over an object: a length and ranged reads through the store, so a
 * Parquet file is never loaded whole. Small files (below `wholeBelow` bytes, default 1 MiB) are
 * fetched in one request instead, which is cheaper than several ranged GETs.
 */
export interface AsyncBuffer {
  byteLength: number;
  slice(start: number, end?: number): Promise<ArrayBuffer>;
}

export async function storeAsyncBuffer(
  store: ObjectStore,
  path: string,
  size?: number,
  wholeBelow = 1 << 20,
): Promise<AsyncBuffer> {
  const byteLength = size ?? (await store.head(path)).size;
  if (byteLength < wholeBelow) {
    const bytes = await store.get(path);
    const ab = toArrayBuffer(bytes);
    return { byteLength: ab.byteLength, slice: (s, e) => Promise.resolve(ab.slice(s, e)) };
  }
  return {
    byteLength,
    slice: async (start, end) => toArrayBuffer(await store.getRange(path, start, end ?? byteLength)),
  };
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer
  ) {
    return bytes.buffer;
  }
  return bytes.slice().buffer as ArrayBuffer;
}
