import { LakehouseError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { readLastCheckpoint } from './last-checkpoint.js';
import { LOG_DIR, padVersion, parseLogPath, type LogFile } from './log-path.js';

type CheckpointFile = Extract<LogFile, { kind: 'checkpoint' }>;

/** Versions below a time-travel target searched for a checkpoint before the whole log is listed. */
const TIME_TRAVEL_WINDOW = 1000;
type CommitFile = Extract<LogFile, { kind: 'commit' }>;

/**
 * The files that make up one snapshot: a complete checkpoint (or none) and the commits after it.
 * Invariants, checked where it is built: `commits` are contiguous, ascending, start right after the
 * checkpoint (or at 0 without one) and end at `version`; a multi-part checkpoint has all its parts.
 */
export interface LogSegment {
  version: number;
  /** The checkpoint's parts in part order, all of the same version and format. */
  checkpoint: { version: number; format: CheckpointFile['format']; parts: CheckpointFile[] } | null;
  commits: CommitFile[];
  /** The commit file of `version` itself, when it still exists (its commitInfo has the commit timestamp). */
  versionCommit: CommitFile | null;
}

export interface SegmentOptions {
  /** Build the segment for this version (time travel); default the latest. */
  version?: number;
}

/**
 * List the log and build the segment for a version. Starts at `_last_checkpoint` and falls back to
 * a full listing when the hint is missing, torn or points at a checkpoint that is gone.
 * Errors: NOT_A_TABLE (no log), VERSION_NOT_FOUND (version beyond the latest, or cleaned up: the
 * message says which versions remain), CORRUPT_LOG (a gap between commits).
 */
export async function buildLogSegment(store: ObjectStore, options: SegmentOptions = {}): Promise<LogSegment> {
  const target = options.version;
  if (target !== undefined && (!Number.isInteger(target) || target < 0)) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `delta: version must be a non-negative integer, got ${target}`,
    );
  }
  const hint = await readLastCheckpoint(store);
  if (hint && (target === undefined || hint.version <= target)) {
    const listed = await listFrom(store, hint.version, target);
    if (listed.checkpoint && listed.checkpoint.version >= hint.version) return finish(store, listed, target);
    // The hint points at a checkpoint that is gone or incomplete: list the whole log.
  } else if (hint && target !== undefined && target > TIME_TRAVEL_WINDOW) {
    // Time travel behind the latest checkpoint: a checkpoint in the window below the version is
    // usually there (tables checkpoint every 10 to 100 commits), and then the log older than the
    // window need not be listed. Without one, list the whole log.
    const from = target - TIME_TRAVEL_WINDOW;
    const listed = await listFrom(store, from, target);
    if (listed.checkpoint && listed.checkpoint.version >= from) return finish(store, listed, target);
  }
  return finish(store, await listFrom(store, 0, target), target);
}

interface Listed {
  checkpoint: LogSegment['checkpoint'];
  commits: CommitFile[];
  latestCommit: CommitFile | null;
  sawAnything: boolean;
  /** The first gap between commit files not covered by a checkpoint. */
  gap: { after: number; next: number } | null;
  /** Checkpoints seen with parts missing (ignored, as the protocol requires), for messages. */
  incomplete: string[];
}

async function listFrom(store: ObjectStore, from: number, target: number | undefined): Promise<Listed> {
  const out: Listed = {
    checkpoint: null,
    commits: [],
    latestCommit: null,
    sawAnything: false,
    gap: null,
    incomplete: [],
  };
  let groupVersion = -1;
  let group: CheckpointFile[] = [];
  const completeVersions = new Set<number>();
  let prevCommit = -1;
  const flush = () => {
    const cp = completeCheckpoint(group);
    if (!cp && group.length > 0) {
      const g = group[0];
      out.incomplete.push(`${padVersion(g.version)}.checkpoint (${group.length} of ${g.parts} parts)`);
    }
    if (cp) {
      completeVersions.add(cp.version);
      if (target === undefined || cp.version <= target) {
        out.checkpoint = cp;
        out.commits = out.commits.filter((c) => c.version > cp.version);
      }
    }
    group = [];
  };
  const startAfter = from > 0 ? `${LOG_DIR}/${padVersion(from)}` : undefined;
  for await (const meta of store.list(`${LOG_DIR}/`, { startAfter })) {
    const name = meta.path.slice(LOG_DIR.length + 1);
    // `_last_checkpoint`, `_sidecars/`, `_staged_commits/` sort after every versioned file.
    if (name.startsWith('_')) break;
    const f = parseLogPath(meta.path, meta.size, meta.lastModified);
    if (!f) continue;
    // Time travel reads nothing past its target (as Spark's listing stops there): a version's
    // files all sort before the next version's, so the rest of the log is not listed.
    if (target !== undefined && f.version > target) break;
    if (f.version !== groupVersion) {
      flush();
      groupVersion = f.version;
    }
    if (f.kind === 'checkpoint') group.push(f);
    if (f.kind !== 'commit') continue;
    // A gap between commits is fine only where a checkpoint covers it (older commits cleaned up).
    // A load of the latest version lists to the end, so a gap anywhere fails it, as in delta-rs and
    // Spark; time travel checks the versions up to its target.
    if (prevCommit >= 0 && f.version > prevCommit + 1 && !out.gap) {
      const covered =
        completeVersions.has(f.version - 1) ||
        (groupVersion === f.version && completeCheckpoint(group) !== null);
      if (!covered) out.gap = { after: prevCommit, next: f.version };
    }
    prevCommit = f.version;
    out.sawAnything = true;
    out.commits.push(f);
    out.latestCommit = f;
  }
  flush();
  if (out.checkpoint) {
    const cpv = out.checkpoint.version;
    out.sawAnything = true;
    out.commits = out.commits.filter((c) => c.version > cpv);
  }
  return out;
}

/** The usable checkpoint among the files of one version: classic, then V2 UUID-named, then a complete multi-part set. */
function completeCheckpoint(files: CheckpointFile[]): LogSegment['checkpoint'] {
  if (files.length === 0) return null;
  const version = files[0].version;
  const classic = files.find((f) => f.format === 'classic');
  if (classic) return { version, format: 'classic', parts: [classic] };
  const uuid = files.find((f) => f.format === 'uuid');
  if (uuid) return { version, format: 'uuid', parts: [uuid] };
  const byCount = new Map<number, Map<number, CheckpointFile>>();
  for (const f of files) {
    let parts = byCount.get(f.parts);
    if (!parts) byCount.set(f.parts, (parts = new Map()));
    parts.set(f.part, f);
  }
  for (const [count, parts] of byCount) {
    // Readers must ignore multi-part checkpoints with missing parts.
    if (parts.size === count) {
      return { version, format: 'multi', parts: [...parts.values()].sort((a, b) => a.part - b.part) };
    }
  }
  return null;
}

async function finish(store: ObjectStore, listed: Listed, target: number | undefined): Promise<LogSegment> {
  const { checkpoint, commits } = listed;
  if (listed.gap) {
    const { after, next } = listed.gap;
    throw new LakehouseError(
      'CORRUPT_LOG',
      `delta: ${LOG_DIR}/ is missing commit ${padVersion(after + 1)}.json: versions are not contiguous ` +
        `(${after} is followed by ${next}) and no checkpoint covers the gap; restore the missing commits`,
    );
  }
  if (!listed.sawAnything) {
    if (target !== undefined) throw await versionNotFound(store, target);
    throw new LakehouseError(
      'NOT_A_TABLE',
      `delta: ${store.root} is not a Delta table: no commits in ${LOG_DIR}/ (create the table first)`,
    );
  }
  const latest = Math.max(checkpoint?.version ?? -1, listed.latestCommit?.version ?? -1);
  if (target !== undefined && target > latest) throw await versionNotFound(store, target);
  const version = target ?? latest;
  let expected = checkpoint ? checkpoint.version + 1 : 0;
  if (!checkpoint && (commits.length === 0 || commits[0].version !== 0)) {
    // No checkpoint and the first commits are gone: this version cannot be reconstructed.
    throw await versionNotFound(store, version, listed.incomplete);
  }
  for (const c of commits) {
    if (c.version !== expected) {
      throw new LakehouseError(
        'CORRUPT_LOG',
        `delta: ${LOG_DIR}/ is missing commit ${padVersion(expected)}.json: versions are not contiguous ` +
          `(${expected - 1} is followed by ${c.version}); the table cannot be read past version ${expected - 1}`,
      );
    }
    expected++;
  }
  if (expected - 1 !== version) {
    throw new LakehouseError(
      'INTERNAL',
      `delta: internal error: log segment ends at ${expected - 1}, not ${version}`,
    );
  }
  const versionCommit =
    listed.latestCommit && listed.latestCommit.version === version ? listed.latestCommit : null;
  return { version, checkpoint, commits, versionCommit };
}

/** The versions a reader can still load: from the oldest complete checkpoint (or commit 0) to the latest. */
export async function availableVersions(
  store: ObjectStore,
): Promise<{ earliest: number; latest: number } | null> {
  let earliest = -1;
  let latest = -1;
  let groupVersion = -1;
  let group: CheckpointFile[] = [];
  for await (const meta of store.list(`${LOG_DIR}/`)) {
    const name = meta.path.slice(LOG_DIR.length + 1);
    if (name.startsWith('_')) break;
    const f = parseLogPath(meta.path);
    if (!f) continue;
    if (f.version !== groupVersion) {
      if (earliest < 0 && completeCheckpoint(group)) earliest = groupVersion;
      group = [];
      groupVersion = f.version;
    }
    if (f.kind === 'commit') {
      if (earliest < 0 && f.version === 0) earliest = 0;
      latest = Math.max(latest, f.version);
    } else if (f.kind === 'checkpoint') {
      group.push(f);
      latest = Math.max(latest, f.version);
    }
  }
  if (earliest < 0 && completeCheckpoint(group)) earliest = groupVersion;
  return earliest < 0 ? null : { earliest, latest };
}

async function versionNotFound(
  store: ObjectStore,
  version: number,
  incomplete: string[] = [],
): Promise<LakehouseError> {
  const range = await availableVersions(store);
  const remain = range
    ? `versions ${range.earliest} to ${range.latest} remain`
    : 'no version can be reconstructed (no commit 0 and no complete checkpoint)';
  const parts = incomplete.length > 0 ? `; incomplete checkpoint ignored: ${incomplete.join(', ')}` : '';
  return new LakehouseError(
    'VERSION_NOT_FOUND',
    `delta: version ${version} of ${store.root} is not available: ${remain}${parts}`,
  );
}
