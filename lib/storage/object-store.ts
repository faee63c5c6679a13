/**
 * The engine boundary: everything the Delta log and the operations need from storage.
 *
 * Contract (tested against every backend by `test/storage/contract.ts`):
 * - Paths are relative to the store's root, use `/` separators, never start with `/`.
 * - `get` of a missing path rejects with `LakehouseError` code `NOT_FOUND`.
 * - `putIfAbsent` is atomic: exactly one of several concurrent callers for the same path
 *   succeeds; the others reject with code `FILE_ALREADY_EXISTS`, and the object's content is
 *   the winner's, complete. This single primitive is what makes concurrent Delta commits safe.
 * - `put` overwrites; readers see either the old or the new content, never a mix.
 * - `list(prefix)` yields every object whose path starts with `prefix`, in lexicographic
 *   (byte) order of path, streamed page by page; with `startAfter` it yields only paths
 *   strictly greater than it. Directory markers are never yielded.
 * - `delete` of a missing path is not an error (deletes are idempotent).
 */
export interface ObjectMeta {
  /** Path relative to the store root. */
  path: string;
  size: number;
  /** Last modification time, milliseconds since the epoch. */
  lastModified: number;
  /** Opaque version tag (ETag / generation / mtime+size) where the store has one. */
  etag?: string;
}

export interface ListOptions {
  /** Only paths strictly greater than this (full path, not relative to prefix). */
  startAfter?: string;
}

export interface PutOptions {
  /** Hint for backends that upload large bodies in parts. */
  contentType?: string;
}

export interface ObjectStore {
  /** A URI that identifies the store root, e.g. `file:///data/t`, `s3://bucket/prefix`. */
  readonly root: string;

  /** Whole object. Rejects with NOT_FOUND when missing. */
  get(path: string): Promise<Uint8Array>;
  /** Bytes [start, end) of an object. `end` is clamped to the object's size. */
  getRange(path: string, start: number, end: number): Promise<Uint8Array>;
  /** Metadata, or NOT_FOUND. */
  head(path: string): Promise<ObjectMeta>;
  /** Create or replace. */
  put(path: string, data: Uint8Array, options?: PutOptions): Promise<void>;
  /**
   * Stream a large object in without holding it in memory (multipart uploads on clouds).
   * Overwrites like `put`.
   */
  putStream(path: string, data: AsyncIterable<Uint8Array>, options?: PutOptions): Promise<void>;
  /** Atomic create; rejects with FILE_ALREADY_EXISTS if the path exists. */
  putIfAbsent(path: string, data: Uint8Array): Promise<void>;
  /** Objects under a prefix in lexicographic order, streamed. */
  list(prefix: string, options?: ListOptions): AsyncIterable<ObjectMeta>;
  /** Delete a batch of paths (missing paths are ignored). Backends batch as the store allows. */
  deleteMany(paths: readonly string[]): Promise<void>;
  /**
   * Delete the temporary files of interrupted writes (a process killed mid-put) last modified
   * before `olderThan` (ms since the epoch), never younger ones (a put may still be writing them).
   * Resolves to the paths deleted. Only stores whose writes leave such files (local disk) have it.
   */
  removeAbandonedTemporaryFiles?(olderThan: number): Promise<string[]>;
  /** Release clients, sockets, file handles. */
  close?(): Promise<void>;
}

/** Join path segments with single slashes, ignoring empty ones. */
export function joinPath(...parts: string[]): string {
  return parts
    .flatMap((p) => p.split('/'))
    .filter((p) => p.length > 0)
    .join('/');
}
