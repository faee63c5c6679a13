import { LakehouseError, isLakehouseError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { parseActionLine, parseActions, type CommitInfo } from './actions.js';
import { LOG_DIR, baseName, parseLogPath, type LogFile } from './log-path.js';
import { availableVersions } from './log-segment.js';
import { prefetchOrdered } from './prefetch.js';

/**
 * Commit history and timestamp time travel. A commit's timestamp is its `inCommitTimestamp` when
 * the commit has one (In-Commit Timestamps), otherwise the modification time of its JSON file,
 * made strictly increasing as Spark does (a commit never appears older than the one before it).
 */

export interface CommitEntry {
  version: number;
  /** Commit timestamp, ms since the epoch. */
  timestamp: number;
  /** The commit's provenance, or null if it has none. */
  commitInfo: CommitInfo | null;
}

type CommitFile = Extract<LogFile, { kind: 'commit' }>;

async function listCommits(store: ObjectStore): Promise<CommitFile[]> {
  const out: CommitFile[] = [];
  for await (const meta of store.list(`${LOG_DIR}/`)) {
    const name = meta.path.slice(LOG_DIR.length + 1);
    if (name.startsWith('_')) break;
    const f = parseLogPath(meta.path, meta.size, meta.lastModified);
    if (f?.kind === 'commit') out.push(f);
  }
  return out;
}

/** The commitInfo of a commit: its first line when that is one (ICT requires it first), else the whole file. */
export async function readCommitInfo(store: ObjectStore, path: string): Promise<CommitInfo | null> {
  const head = new TextDecoder().decode(await store.getRange(path, 0, 16384));
  const nl = head.indexOf('\n');
  if (nl > 0 && head.startsWith('{"commitInfo"')) {
    const a = parseActionLine(head.slice(0, nl), baseName(path), 1);
    if (a && 'commitInfo' in a) return a.commitInfo;
  }
  const all = parseActions(new TextDecoder().decode(await store.get(path)), baseName(path));
  for (const a of all) if ('commitInfo' in a) return a.commitInfo;
  return null;
}

/**
 * Commit timestamps of every commit whose JSON file remains, ascending by version. Reads commit
 * files only for the trailing run of commits that carry in-commit timestamps.
 */
export async function commitTimestamps(
  store: ObjectStore,
): Promise<{ version: number; timestamp: number }[]> {
  const commits = await listCommits(store);
  const ts = commits.map((c) => c.lastModified);
  // In-commit timestamps, newest first, until a commit without one (before the feature was enabled).
  const newestFirst = [...commits.keys()].reverse();
  const infos = prefetchOrdered(newestFirst, 16, (i) => readCommitInfo(store, commits[i].path));
  let k = 0;
  let ictFrom = commits.length;
  for await (const info of infos) {
    const i = newestFirst[k++];
    if (typeof info?.inCommitTimestamp !== 'number') break;
    ts[i] = info.inCommitTimestamp;
    ictFrom = i;
  }
  // Spark's monotonization of file times (not of in-commit timestamps, which are monotonic already).
  for (let i = 1; i < ictFrom; i++) if (ts[i] <= ts[i - 1]) ts[i] = ts[i - 1] + 1;
  return commits.map((c, i) => ({ version: c.version, timestamp: ts[i] }));
}

/** Commits newest first with their commitInfo and timestamp; `limit` caps how many. */
export async function* history(
  store: ObjectStore,
  options: { limit?: number } = {},
): AsyncGenerator<CommitEntry> {
  const commits = await listCommits(store);
  if (commits.length === 0) {
    throw new LakehouseError(
      'NOT_A_TABLE',
      `delta: ${store.root} is not a Delta table: no commits in ${LOG_DIR}/`,
    );
  }
  const newestFirst = [...commits].reverse().slice(0, options.limit ?? commits.length);
  const infos = prefetchOrdered(newestFirst, 16, async (c) => {
    try {
      return await readCommitInfo(store, c.path);
    } catch (err) {
      if (isLakehouseError(err, 'NOT_FOUND')) return null; // cleaned up meanwhile
      throw err;
    }
  });
  let i = 0;
  for await (const info of infos) {
    const c = newestFirst[i++];
    const timestamp =
      typeof info?.inCommitTimestamp === 'number'
        ? info.inCommitTimestamp
        : (info?.timestamp ?? c.lastModified);
    yield {
      version: c.version,
      timestamp: typeof timestamp === 'number' ? timestamp : c.lastModified,
      commitInfo: info,
    };
  }
}

/** Parse a timestamp given as a Date, ms since the epoch, or an ISO-8601 string. */
export function toEpochMillis(ts: Date | number | string): number {
  const ms = ts instanceof Date ? ts.getTime() : typeof ts === 'number' ? ts : Date.parse(ts);
  if (!Number.isFinite(ms))
    throw new LakehouseError('INVALID_ARGUMENT', `delta: "${String(ts)}" is not a valid timestamp`);
  return ms;
}

/**
 * The version that was current at `timestamp`: the newest commit whose timestamp is at or before
 * it (the latest version when the timestamp is after the last commit, as delta-rs does).
 * VERSION_NOT_FOUND when the timestamp is before the oldest commit that remains.
 *
 * With in-commit timestamps ("Recommendations for Readers of Tables with In-Commit Timestamps"):
 * a timestamp at or after the first in-commit timestamp only considers versions from the
 * enablement on, found by binary search reading O(log n) commit headers; an earlier one only the
 * versions before, by their (monotonized) file times.
 */
export async function versionAtTimestamp(
  store: ObjectStore,
  timestamp: Date | number | string,
): Promise<number> {
  const ms = toEpochMillis(timestamp);
  const commits = await listCommits(store);
  if (commits.length === 0) {
    throw new LakehouseError(
      'NOT_A_TABLE',
      `delta: ${store.root} is not a Delta table: no commits in ${LOG_DIR}/`,
    );
  }
  const cache = new Map<number, number | null>();
  const ict = async (i: number): Promise<number | null> => {
    if (!cache.has(i)) {
      const info = await readCommitInfo(store, commits[i].path);
      cache.set(i, typeof info?.inCommitTimestamp === 'number' ? info.inCommitTimestamp : null);
    }
    return cache.get(i)!;
  };
  // First index of the trailing run of commits with in-commit timestamps (commits.length: none).
  let enabledFrom = commits.length;
  if ((await ict(commits.length - 1)) !== null) {
    let lo = 0;
    let hi = commits.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((await ict(mid)) !== null) hi = mid;
      else lo = mid + 1;
    }
    enabledFrom = lo;
  }
  let found = -1;
  if (enabledFrom < commits.length && ms >= (await ict(enabledFrom))!) {
    let lo = enabledFrom;
    let hi = commits.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((await ict(mid))! <= ms) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
  } else {
    const ts = commits.slice(0, enabledFrom).map((c) => c.lastModified);
    for (let i = 1; i < ts.length; i++) if (ts[i] <= ts[i - 1]) ts[i] = ts[i - 1] + 1;
    for (let i = 0; i < ts.length && ts[i] <= ms; i++) found = i;
  }
  if (found < 0) {
    const range = await availableVersions(store);
    const first = commits[0];
    const firstTs = enabledFrom === 0 ? (await ict(0))! : first.lastModified;
    throw new LakehouseError(
      'VERSION_NOT_FOUND',
      `delta: no version of ${store.root} existed at ${new Date(ms).toISOString()}: the oldest commit that remains ` +
        `is version ${first.version} at ${new Date(firstTs).toISOString()}` +
        (range ? ` (versions ${range.earliest} to ${range.latest} remain)` : ''),
    );
  }
  return commits[found].version;
}
