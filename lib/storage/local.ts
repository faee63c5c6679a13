import { randomUUID } from 'node:crypto';
import { createWriteStream, promises as fs, stat as statCallback, type Stats } from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { LakehouseError } from '../errors.js';
import type { ListOptions, ObjectMeta, ObjectStore } from './object-store.js';

/**
 * Local-disk object store. `putIfAbsent` writes a temporary file and `link`s it to the target:
 * `link` fails with EEXIST when the target exists, so creation is atomic without any
 * check-then-write window, and readers never see a partly written commit.
 */
export class LocalObjectStore implements ObjectStore {
  readonly root: string;
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
    this.root = pathToFileURL(this.dir).href;
  }

  private abs(p: string): string {
    if (p.startsWith('/') || p.split('/').includes('..')) {
      throw new LakehouseError('INVALID_ARGUMENT', `storage: path "${p}" must be relative to the table root`);
    }
    return path.join(this.dir, ...p.split('/'));
  }

  async get(p: string): Promise<Uint8Array> {
    try {
      return new Uint8Array(await fs.readFile(this.abs(p)));
    } catch (err) {
      throw mapError(err, p);
    }
  }

  async getRange(p: string, start: number, end: number): Promise<Uint8Array> {
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(this.abs(p), 'r');
      const size = (await handle.stat()).size;
      const stop = Math.min(end, size);
      const length = Math.max(0, stop - start);
      const buf = new Uint8Array(length);
      let off = 0;
      while (off < length) {
        const { bytesRead } = await handle.read(buf, off, length - off, start + off);
        if (bytesRead === 0) break;
        off += bytesRead;
      }
      return off === length ? buf : buf.subarray(0, off);
    } catch (err) {
      throw mapError(err, p);
    } finally {
      await handle?.close();
    }
  }

  async head(p: string): Promise<ObjectMeta> {
    try {
      const st = await fs.stat(this.abs(p));
      if (!st.isFile()) throw new LakehouseError('NOT_FOUND', `storage: ${p} is not a file`);
      return { path: p, size: st.size, lastModified: st.mtimeMs, etag: `${st.mtimeMs}-${st.size}` };
    } catch (err) {
      throw mapError(err, p);
    }
  }

  async put(p: string, data: Uint8Array): Promise<void> {
    const target = this.abs(p);
    const tmp = await this.writeTemp(target, data);
    try {
      await fs.rename(tmp, target);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw mapError(err, p);
    }
  }

  async putStream(p: string, data: AsyncIterable<Uint8Array>): Promise<void> {
    const target = this.abs(p);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const tmp = tempName(target);
    try {
      await pipeline(Readable.from(data), createWriteStream(tmp, { flags: 'wx' }));
      await fs.rename(tmp, target);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw mapError(err, p);
    }
  }

  async putIfAbsent(p: string, data: Uint8Array): Promise<void> {
    const target = this.abs(p);
    const tmp = await this.writeTemp(target, data);
    try {
      await fs.link(tmp, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new LakehouseError('FILE_ALREADY_EXISTS', `storage: ${p} already exists`);
      }
      throw mapError(err, p);
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectMeta> {
    const slash = prefix.lastIndexOf('/');
    const dirRel = slash >= 0 ? prefix.slice(0, slash) : '';
    const namePrefix = slash >= 0 ? prefix.slice(slash + 1) : prefix;
    yield* this.walk(dirRel, namePrefix, options.startAfter);
  }

  /**
   * Depth-first walk whose output is in lexicographic order of full path: a directory sorts as
   * `name/`, so `a-b` (0x2d) comes before the contents of `a/` (0x2f), as object stores list.
   */
  private async *walk(dirRel: string, namePrefix: string, startAfter?: string): AsyncIterable<ObjectMeta> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(dirRel ? this.abs(dirRel) : this.dir, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw mapError(err, dirRel);
    }
    const keyed = entries
      .filter((e) => e.name.startsWith(namePrefix) && !isTempName(e.name))
      .map((e) => ({ e, key: e.isDirectory() ? `${e.name}/` : e.name }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    // Files are stat'ed STAT_AHEAD at a time ahead of the one being yielded (in order), so a
    // listing of many files waits for the disk once per window, not once per file.
    const relOf = (name: string) => (dirRel ? `${dirRel}/${name}` : name);
    const stats: (Promise<Stats | null> | undefined)[] = new Array(keyed.length);
    let launched = 0;
    const launchUpTo = (limit: number) => {
      for (; launched < Math.min(limit, keyed.length); launched++) {
        const { e } = keyed[launched]!;
        const rel = relOf(e.name);
        if (!e.isFile() || (startAfter !== undefined && rel <= startAfter)) continue;
        const p = statOrNull(this.abs(rel), rel);
        p.catch(() => undefined); // raised when its turn comes
        stats[launched] = p;
      }
    };
    for (let i = 0; i < keyed.length; i++) {
      const { e } = keyed[i]!;
      const rel = relOf(e.name);
      if (e.isDirectory()) {
        const dirPrefix = `${rel}/`;
        // Skip a directory whose every path sorts at or before startAfter.
        if (startAfter !== undefined && startAfter >= dirPrefix && !startAfter.startsWith(dirPrefix))
          continue;
        yield* this.walk(rel, '', startAfter);
      } else if (e.isFile()) {
        launchUpTo(i + STAT_AHEAD);
        const pending = stats[i];
        if (!pending) continue; // at or before startAfter
        stats[i] = undefined;
        const st = await pending;
        if (!st) continue;
        yield { path: rel, size: st.size, lastModified: st.mtimeMs, etag: `${st.mtimeMs}-${st.size}` };
      }
    }
  }

  async deleteMany(paths: readonly string[]): Promise<void> {
    // A pool of DELETE_CONCURRENCY unlinks in flight (no barrier between batches).
    let next = 0;
    const worker = async () => {
      while (next < paths.length) {
        const p = paths[next++]!;
        try {
          await fs.unlink(this.abs(p));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw mapError(err, p);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, paths.length) }, worker));
  }

  /**
   * Delete `.<name>.<uuid>.lakehouse-tmp` files (left by puts killed between writing and
   * renaming them) anywhere under the root, last modified before `olderThan`. A put still
   * writing keeps its file younger than that (every write bumps the modification time).
   */
  async removeAbandonedTemporaryFiles(olderThan: number): Promise<string[]> {
    const removed: string[] = [];
    const visit = async (dirRel: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await fs.readdir(dirRel ? this.abs(dirRel) : this.dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw mapError(err, dirRel);
      }
      for (const e of entries) {
        const rel = dirRel ? `${dirRel}/${e.name}` : e.name;
        if (e.isDirectory()) await visit(rel);
        else if (e.isFile() && isTempName(e.name)) {
          const st = await statOrNull(this.abs(rel), rel);
          if (!st || st.mtimeMs >= olderThan) continue;
          await fs.rm(this.abs(rel), { force: true });
          removed.push(rel);
        }
      }
    };
    await visit('');
    return removed;
  }

  private async writeTemp(target: string, data: Uint8Array): Promise<string> {
    await fs.mkdir(path.dirname(target), { recursive: true });
    const tmp = tempName(target);
    try {
      await fs.writeFile(tmp, data, { flag: 'wx' });
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw mapError(err, path.relative(this.dir, target));
    }
    return tmp;
  }
}

const TEMP_SUFFIX = '.lakehouse-tmp';
/**
 * `stat` through the callback API (cheaper per call than fs/promises, which matters when listing
 * thousands of files); null when the file was deleted while listing.
 */
function statOrNull(abs: string, rel: string): Promise<Stats | null> {
  return new Promise((resolve, reject) =>
    statCallback(abs, (err, st) => {
      if (!err) resolve(st);
      else if (err.code === 'ENOENT') resolve(null);
      else reject(mapError(err, rel));
    }),
  );
}

/** stat calls in flight ahead of the file a listing yields. */
const STAT_AHEAD = 64;
/** unlink calls in flight in `deleteMany`. */
const DELETE_CONCURRENCY = 64;

function tempName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${randomUUID()}${TEMP_SUFFIX}`);
}

function isTempName(name: string): boolean {
  return name.startsWith('.') && name.endsWith(TEMP_SUFFIX);
}

function mapError(err: unknown, p: string): Error {
  if (err instanceof LakehouseError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT')
    return new LakehouseError('NOT_FOUND', `storage: ${p} does not exist`, { cause: err });
  if (code === 'EACCES' || code === 'EPERM') {
    return new LakehouseError('ACCESS_DENIED', `storage: permission denied on ${p}; check file ownership`, {
      cause: err,
    });
  }
  return new LakehouseError('STORAGE', `storage: ${p}: ${(err as Error).message}`, { cause: err });
}
