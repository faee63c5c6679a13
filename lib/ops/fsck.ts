import type { ObjectMeta, ObjectStore } from '../storage/object-store.js';
import {
  canonicalPath,
  dataFilePath,
  removeFor,
  type AddAction,
  type MetadataAction,
  type ProtocolAction,
} from '../delta/actions.js';
import { deletionVectorPath } from '../delta/deletion-vector.js';
import { LOG_DIR, padVersion, parseLogPath, type LogFile } from '../delta/log-path.js';
import type { LogSegment } from '../delta/log-segment.js';
import { replay } from '../delta/replay.js';
import { Snapshot, rootPathOf } from '../delta/snapshot.js';
import { Transaction } from '../delta/transaction.js';
import { LakehouseError, isLakehouseError } from '../errors.js';
import { censusFiles, retentionMsOf } from './health.js';
import { numRecordsOf } from './describe.js';

/**
 * FSCK: check a table's log against its storage, and optionally repair the log.
 *
 * Reports, without changing anything:
 * - files the latest snapshot references (data files and deletion-vector files) that are missing
 *   from storage, with the rows each held (from its stats, minus deleted rows);
 * - orphan files: listed, not `_delta_log` or hidden, read by no version inside the retention
 *   window; with size and age (young ones may be an append in flight);
 * - log gaps: commit versions missing between the oldest and newest commit file, and whether a
 *   checkpoint covers them (if not, the table cannot be read);
 * - a checkpoint that disagrees with the JSON commits it summarizes (active files, sizes,
 *   tombstones, metadata, protocol), checked for the newest checkpoint whose commits remain.
 *
 * With `repair`, commits one `FSCK` transaction that removes the missing files (as Databricks'
 * `FSCK REPAIR TABLE` does): the table becomes readable again, without the rows those files held,
 * which the report counts. FSCK never deletes a data file, and never rewrites the log: orphans
 * are VACUUM's job, a gap or a bad checkpoint needs the missing commit restored or a new
 * checkpoint written.
 */
export interface FsckOptions {
  /** Commit the removal of missing files. Default false. */
  repair?: boolean;
  /** A precomputed listing (inventory) instead of listing the store. */
  listing?: AsyncIterable<ObjectMeta> | Iterable<ObjectMeta>;
  /** Compare the newest verifiable checkpoint with its JSON commits. Default true. */
  checkCheckpoint?: boolean;
  /** "Now", ms since the epoch (tests). */
  now?: number;
}

export interface MissingFile {
  /** The add action's path as the log has it. */
  path: string;
  /** What is missing: the data file itself or its deletion-vector file. */
  missing: 'data' | 'deletionVector';
  size: number;
  partitionValues: Record<string, string | null>;
  /** Live rows it held; null without stats. */
  rows: number | null;
}

export interface OrphanFile {
  path: string;
  size: number;
  lastModified: number;
  ageHours: number;
  /** Younger than the retention window: VACUUM keeps it (a write may be in flight). */
  insideRetention: boolean;
}

export interface LogGap {
  /** First and last missing version. */
  from: number;
  to: number;
  /** A complete checkpoint at `to` or later lets readers skip the gap (time travel into it is lost). */
  coveredByCheckpoint: boolean;
}

export interface CheckpointCheck {
  version: number;
  /** The base the commits were replayed from: a checkpoint version, or -1 for commit 0. */
  comparedFrom: number;
  agrees: boolean;
  /** Up to 20 differences, in words. */
  differences: string[];
  numDifferences: number;
}

export interface FsckReport {
  location: string;
  /** The latest version, or null when the table cannot be loaded. */
  version: number | null;
  /** Why the latest snapshot failed to load, when it did. */
  loadError: string | null;
  missingFiles: MissingFile[];
  /** Rows in the missing files; null when a missing file has no stats. */
  rowsLost: number | null;
  orphanFiles: OrphanFile[];
  orphanBytes: number;
  logGaps: LogGap[];
  /** null when no checkpoint could be verified (none, or its commits were cleaned up). */
  checkpoint: CheckpointCheck | null;
  /** Why the checkpoint was not verified, when it was not. */
  checkpointSkipped: string | null;
  /** The FSCK commit, with `repair`. */
  repair: { version: number; filesRemoved: number; rowsLost: number | null } | null;
  /** Nothing missing, no gap, and the checkpoint agrees (orphans alone are not an error). */
  ok: boolean;
  durationMs: number;
}

const HOUR = 3_600_000;
const MAX_DIFFERENCES = 20;

type CommitFile = Extract<LogFile, { kind: 'commit' }>;
type CheckpointFile = Extract<LogFile, { kind: 'checkpoint' }>;

export async function fsck(store: ObjectStore, options: FsckOptions = {}): Promise<FsckReport> {
  const started = Date.now();
  const now = options.now ?? Date.now();
  const log = await listLog(store);
  if (log.commits.length === 0 && log.checkpoints.size === 0) {
    throw new LakehouseError(
      'NOT_A_TABLE',
      `fsck: ${store.root} is not a Delta table: no commits in ${LOG_DIR}/`,
    );
  }
  const logGaps = findGaps(log);
  const report: FsckReport = {
    location: store.root,
    version: null,
    loadError: null,
    missingFiles: [],
    rowsLost: 0,
    orphanFiles: [],
    orphanBytes: 0,
    logGaps,
    checkpoint: null,
    checkpointSkipped: null,
    repair: null,
    ok: false,
    durationMs: 0,
  };

  let snapshot: Snapshot | null = null;
  try {
    snapshot = await Snapshot.load(store);
  } catch (err) {
    if (!isLakehouseError(err, 'CORRUPT_LOG') && !isLakehouseError(err, 'VERSION_NOT_FOUND')) throw err;
    report.loadError = err.message;
  }

  if (snapshot) {
    report.version = snapshot.version;
    const cutoff = now - retentionMsOf(snapshot);
    const census = await censusFiles(snapshot, cutoff, options.listing);
    const root = rootPathOf(store);
    const rel = (p: string): string => canonicalPath(dataFilePath(p), root);
    const missingAdds: AddAction[] = [];
    for (const add of snapshot.activeFilesIterator()) {
      let missing: MissingFile['missing'] | null = null;
      if (!census.listed.has(rel(add.path))) missing = 'data';
      else if (
        add.deletionVector &&
        add.deletionVector.storageType !== 'i' &&
        !census.listed.has(rel(deletionVectorPath(add.deletionVector)))
      )
        missing = 'deletionVector';
      if (!missing) continue;
      const n = numRecordsOf(add.stats);
      const rows = n === null ? null : n - (add.deletionVector?.cardinality ?? 0);
      report.missingFiles.push({
        path: add.path,
        missing,
        size: add.size,
        partitionValues: add.partitionValues,
        rows,
      });
      missingAdds.push(add);
      report.rowsLost = rows === null || report.rowsLost === null ? null : report.rowsLost + rows;
    }
    report.orphanFiles = census.orphans.map((m) => ({
      path: m.path,
      size: m.size,
      lastModified: m.lastModified,
      ageHours: Math.max(0, (now - m.lastModified) / HOUR),
      insideRetention: m.lastModified >= cutoff,
    }));
    report.orphanBytes = census.orphans.reduce((s, m) => s + m.size, 0);

    if (options.repair && missingAdds.length > 0) {
      const deletionTimestamp = Date.now();
      const commit = await new Transaction(store, snapshot, {
        operation: 'FSCK',
        operationParameters: { numMissingFiles: missingAdds.length },
        operationMetrics: {
          numFilesRemoved: String(missingAdds.length),
          numRowsLost: report.rowsLost === null ? 'unknown' : String(report.rowsLost),
        },
        readFiles: missingAdds.map((a) => a.path),
      })
        .addActions(missingAdds.map((a) => ({ remove: removeFor(a, { deletionTimestamp }) })))
        .commit();
      report.repair = {
        version: commit.version,
        filesRemoved: missingAdds.length,
        rowsLost: report.rowsLost,
      };
    }
  }

  if (options.checkCheckpoint !== false) {
    const checked = await checkNewestCheckpoint(store, log);
    if (typeof checked === 'string') report.checkpointSkipped = checked;
    else report.checkpoint = checked;
  }
  report.ok =
    report.loadError === null &&
    report.missingFiles.length === 0 &&
    logGaps.length === 0 &&
    (report.checkpoint === null || report.checkpoint.agrees);
  report.durationMs = Date.now() - started;
  return report;
}

interface LogListing {
  commits: CommitFile[];
  /** Complete checkpoints by version. */
  checkpoints: Map<number, NonNullable<LogSegment['checkpoint']>>;
}

async function listLog(store: ObjectStore): Promise<LogListing> {
  const commits: CommitFile[] = [];
  const groups = new Map<number, CheckpointFile[]>();
  for await (const meta of store.list(`${LOG_DIR}/`)) {
    const f = parseLogPath(meta.path, meta.size, meta.lastModified);
    if (f?.kind === 'commit') commits.push(f);
    else if (f?.kind === 'checkpoint') {
      const g = groups.get(f.version) ?? [];
      g.push(f);
      groups.set(f.version, g);
    }
  }
  commits.sort((a, b) => a.version - b.version);
  const checkpoints = new Map<number, NonNullable<LogSegment['checkpoint']>>();
  for (const [version, files] of groups) {
    const single = files.find((f) => f.format === 'classic') ?? files.find((f) => f.format === 'uuid');
    if (single) {
      checkpoints.set(version, { version, format: single.format, parts: [single] });
      continue;
    }
    const parts = files.filter((f) => f.format === 'multi').sort((a, b) => a.part - b.part);
    const count = parts[0]?.parts ?? 0;
    const distinct = new Set(parts.filter((p) => p.parts === count).map((p) => p.part));
    if (count > 0 && distinct.size === count) {
      const chosen = [...distinct].sort((a, b) => a - b).map((n) => parts.find((p) => p.part === n)!);
      checkpoints.set(version, { version, format: 'multi', parts: chosen });
    }
  }
  return { commits, checkpoints };
}

function findGaps(log: LogListing): LogGap[] {
  const gaps: LogGap[] = [];
  for (let i = 1; i < log.commits.length; i++) {
    const prev = log.commits[i - 1]!.version;
    const next = log.commits[i]!.version;
    if (next > prev + 1) {
      const covered = [...log.checkpoints.keys()].some((v) => v >= next - 1);
      gaps.push({ from: prev + 1, to: next - 1, coveredByCheckpoint: covered });
    }
  }
  return gaps;
}

/**
 * Replay the newest checkpoint's version twice — from the checkpoint alone, and from JSON
 * commits (from commit 0, or from an older complete checkpoint) — and compare the states.
 * Returns a reason string when no checkpoint can be verified.
 */
async function checkNewestCheckpoint(store: ObjectStore, log: LogListing): Promise<CheckpointCheck | string> {
  const versions = [...log.checkpoints.keys()].sort((a, b) => b - a);
  if (versions.length === 0) return 'the table has no checkpoint';
  const commitsByVersion = new Map(log.commits.map((c) => [c.version, c]));
  for (const version of versions) {
    // The newest base whose commits up to `version` all remain.
    const bases = [-1, ...versions.filter((v) => v < version)].sort((a, b) => b - a);
    for (const base of bases) {
      const needed: CommitFile[] = [];
      let complete = true;
      for (let v = base + 1; v <= version; v++) {
        const c = commitsByVersion.get(v);
        if (!c) {
          complete = false;
          break;
        }
        needed.push(c);
      }
      if (!complete) continue;
      const root = rootPathOf(store);
      const fromCheckpoint = await replay(
        store,
        { version, checkpoint: log.checkpoints.get(version)!, commits: [], versionCommit: null },
        root,
      );
      const fromCommits = await replay(
        store,
        {
          version,
          checkpoint: base >= 0 ? log.checkpoints.get(base)! : null,
          commits: needed,
          versionCommit: needed.at(-1) ?? null,
        },
        root,
      );
      const differences = compareStates(fromCheckpoint, fromCommits);
      return {
        version,
        comparedFrom: base,
        agrees: differences.length === 0,
        differences: differences.slice(0, MAX_DIFFERENCES),
        numDifferences: differences.length,
      };
    }
  }
  return `no checkpoint can be verified: the commits before checkpoint ${padVersion(versions[0]!)} were cleaned up`;
}

type State = Awaited<ReturnType<typeof replay>>;

function compareStates(checkpoint: State, commits: State): string[] {
  const out: string[] = [];
  for (const [key, add] of commits.adds) {
    const other = checkpoint.adds.get(key);
    if (!other) out.push(`active file ${add.path} is missing from the checkpoint`);
    else if (other.size !== add.size)
      out.push(`active file ${add.path}: size ${other.size} in the checkpoint, ${add.size} in the commits`);
  }
  for (const [key, add] of checkpoint.adds)
    if (!commits.adds.has(key))
      out.push(`the checkpoint has active file ${add.path} that the commits removed or never added`);
  // Expired tombstones may be dropped from a checkpoint: only flag ones it has that commits lack.
  for (const [key, rm] of checkpoint.removes)
    if (!commits.removes.has(key))
      out.push(`the checkpoint has tombstone ${rm.path} that the commits do not`);
  const md = (m: MetadataAction): string =>
    JSON.stringify([m.id, m.schemaString, m.partitionColumns, m.configuration ?? {}]);
  if (md(checkpoint.metadata) !== md(commits.metadata))
    out.push('metaData differs (id, schema, partitioning or properties)');
  const proto = (p: ProtocolAction): string =>
    JSON.stringify([
      p.minReaderVersion,
      p.minWriterVersion,
      [...(p.readerFeatures ?? [])].sort(),
      [...(p.writerFeatures ?? [])].sort(),
    ]);
  if (proto(checkpoint.protocol) !== proto(commits.protocol)) out.push('protocol differs');
  return out;
}
