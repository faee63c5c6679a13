/**
 * A reconcile report as the LakeTable `status` fields (`lib/spec` StatusSchema), for the operator
 * to patch onto the resource. Conditions are the operator's: they depend on the generation and the
 * previous status, which a report does not know.
 */
import type { LakeTableStatus, MaintenanceRun } from '../spec/index.js';
import type { ActionReport, TableReport } from './reconcile.js';

const RUN_KINDS = {
  compaction: 'lastCompaction',
  checkpoint: 'lastCheckpoint',
  vacuum: 'lastVacuum',
} as const;
const NEXT_KINDS = {
  compaction: 'nextCompaction',
  checkpoint: 'nextCheckpoint',
  vacuum: 'nextVacuum',
} as const;

/**
 * The status fields a report determines: location, version and size figures (after the pass),
 * `lastReconcileTime`, the last run of each maintenance kind that ran in this pass (kinds that
 * did not run are absent: keep the previous status's), and when each kind is next due (absent
 * when that depends on the table's state rather than on time). Dry runs give only what was
 * observed.
 */
export function statusOf(report: TableReport, reconciledAt: Date = new Date()): Partial<LakeTableStatus> {
  const m = report.after ?? report.before;
  const status: Record<string, unknown> = {
    ...(report.location !== null ? { location: report.location } : {}),
    ...(m
      ? {
          version: m.version,
          files: m.files,
          bytes: m.bytes,
          smallFiles: m.smallFiles,
          commitsSinceCheckpoint: m.commitsSinceCheckpoint,
        }
      : {}),
    lastReconcileTime: reconciledAt.toISOString(),
  };
  if (!report.dryRun) {
    for (const a of report.actions) {
      if (
        (a.kind === 'compaction' || a.kind === 'checkpoint' || a.kind === 'vacuum') &&
        a.status !== 'awaiting-approval' &&
        a.status !== 'not-run'
      ) {
        status[RUN_KINDS[a.kind]] = runOf(a);
      }
    }
  }
  for (const n of report.next) if (n.at !== null) status[NEXT_KINDS[n.kind]] = n.at;
  return status as Partial<LakeTableStatus>;
}

function runOf(a: ActionReport): MaintenanceRun {
  const num = (k: string): number | undefined => {
    const v = a.metrics?.[k];
    return typeof v === 'number' ? v : undefined;
  };
  const filesRemoved = num('filesRemoved') ?? num('filesDeleted');
  const bytesRemoved = num('bytesRemoved') ?? num('bytesDeleted');
  const run: Record<string, unknown> = {
    ...(a.startTime ? { startTime: a.startTime } : {}),
    ...(a.completionTime ? { completionTime: a.completionTime } : {}),
    result:
      a.status === 'done'
        ? 'Succeeded'
        : a.status === 'failed'
          ? 'Failed'
          : a.status === 'handed-off'
            ? 'Running'
            : 'Skipped',
    message: a.error ? `[${a.error.code}] ${a.error.message}` : (a.summary ?? a.reason),
    ...(a.version !== undefined ? { version: a.version } : {}),
    ...(num('filesAdded') !== undefined ? { filesAdded: num('filesAdded') } : {}),
    ...(filesRemoved !== undefined ? { filesRemoved } : {}),
    ...(num('bytesAdded') !== undefined ? { bytesAdded: num('bytesAdded') } : {}),
    ...(bytesRemoved !== undefined ? { bytesRemoved } : {}),
  };
  return run as MaintenanceRun;
}
