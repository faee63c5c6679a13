/**
 * Health of a reconciled table, from what reconcile observed anyway (`observeTable`: one snapshot
 * and the newest commits, no data read) plus, only when asked, a LIST of the table for orphan
 * files, the one expensive measure. The score is `lib/ops/health.ts`'s `healthScore`, so the
 * operator's score is the score of `lakehouse health`.
 */
import { healthScore, type HealthDeduction, type HealthMeasures } from '../ops/health.js';
import { censusFiles } from '../ops/health.js';
import { Snapshot } from '../delta/snapshot.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { TableState } from './observe.js';

/** Orphan files of a table at one moment (a LIST of the table). */
export interface OrphanMeasure {
  readonly orphanFiles: number;
  readonly orphanBytes: number;
  /** Orphans older than the retention window: what vacuum would delete. */
  readonly reclaimableFiles: number;
  readonly reclaimableBytes: number;
  /** ISO-8601: when the listing ran. */
  readonly measuredAt: string;
}

/** When reconcile lists the table for orphans. */
export interface OrphanPolicy {
  /** The last measure (the operator keeps it in `status.health`); null: never listed. */
  readonly previous: OrphanMeasure | null;
  /** List again when `previous` is older than this (ms). 0: every pass. */
  readonly maxAgeMs: number;
}

export interface TableHealth {
  readonly score: number;
  readonly deductions: readonly HealthDeduction[];
  readonly measures: HealthMeasures;
  /** The orphan figures used (fresh or reused); null when never listed. */
  readonly orphans: OrphanMeasure | null;
  /** True when this pass listed the table. */
  readonly listed: boolean;
}

const HOUR = 3_600_000;

/** List the table and count orphans (files no version inside the retention window reads). */
export async function measureOrphans(
  store: ObjectStore,
  now: number,
  retentionMs: number,
): Promise<OrphanMeasure> {
  const snapshot = await Snapshot.load(store);
  const cutoff = now - retentionMs;
  const census = await censusFiles(snapshot, cutoff);
  const old = census.orphans.filter((m) => m.lastModified < cutoff);
  return {
    orphanFiles: census.orphans.length,
    orphanBytes: census.orphans.reduce((s, m) => s + m.size, 0),
    reclaimableFiles: old.length,
    reclaimableBytes: old.reduce((s, m) => s + m.size, 0),
    measuredAt: new Date(now).toISOString(),
  };
}

/** Whether `policy` asks for a new listing at `now` (always after a vacuum ran: it deleted orphans). */
export function orphanListingDue(policy: OrphanPolicy, now: number, vacuumRan: boolean): boolean {
  if (vacuumRan || policy.previous === null) return true;
  const at = Date.parse(policy.previous.measuredAt);
  return !Number.isFinite(at) || now - at >= policy.maxAgeMs;
}

/** Health measures and score of an observed table, with orphan figures when known. */
export function healthOf(
  state: TableState,
  checkpointInterval: number,
  now: number,
  orphans: OrphanMeasure | null,
  listed: boolean,
): TableHealth {
  const run = (timestamp: number | null, version: number | null) =>
    timestamp === null ? null : { version, timestamp, ageHours: Math.max(0, (now - timestamp) / HOUR) };
  const measures: HealthMeasures = {
    version: state.version,
    numFiles: state.files,
    sizeInBytes: state.bytes,
    smallFileThreshold: state.smallFileThresholdBytes,
    smallFiles: state.smallFiles,
    smallFileRatio: state.files === 0 ? 0 : state.smallFiles / state.files,
    compactableSmallFiles: state.compactableSmallFiles,
    lastCheckpointVersion: state.lastCheckpointVersion,
    commitsSinceCheckpoint: state.commitsSinceCheckpoint,
    checkpointInterval,
    openLatestMs: state.openLatestMs,
    retentionHours: state.retentionMs / HOUR,
    removedFilesInRetention: state.removedFilesInRetention,
    removedBytesInRetention: state.removedBytesInRetention,
    orphanFiles: orphans?.orphanFiles ?? null,
    orphanBytes: orphans?.orphanBytes ?? null,
    reclaimableFiles: orphans?.reclaimableFiles ?? null,
    reclaimableBytes: orphans?.reclaimableBytes ?? null,
    lastOptimize: run(state.lastCompactionTime, null),
    lastVacuum: run(state.lastVacuumTime, null),
    lastCheckpoint: run(state.lastCheckpointTime, state.lastCheckpointVersion),
    commitsExamined: 0,
  };
  const { score, deductions } = healthScore(measures);
  return { score, deductions, measures, orphans, listed };
}
