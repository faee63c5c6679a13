/**
 * Status writes. Every write goes through `patchStatus`: it re-reads the object, applies small pure
 * mutators to a copy of its status, skips the write when nothing changed, and writes through the
 * status subresource with the resourceVersion it read, retrying on 409 Conflict.
 */
import { ApiException, CustomObjectsApi } from './kube.js';
import { isDeepStrictEqual } from 'node:util';
import {
  APPROVE_PLAN_ANNOTATION,
  type HealthStatus,
  type LakeTableStatus,
  type MaintenanceRun,
  type PlanStatus,
} from '../../lib/spec/index.js';
import {
  formatBytes,
  formatPlanSummary,
  type ActionReport,
  type ApprovalState,
  type MaintenancePlanSummary,
  type OrphanMeasure,
  type TableHealth,
  type TableReport,
} from '../../lib/reconcile/index.js';
import {
  degradedCondition,
  maintenanceHealthyCondition,
  readyCondition,
  schemaInSyncCondition,
  setCondition,
  blockedConditions,
} from './conditions.js';
import { GROUP, PLURAL, VERSION } from './names.js';
import type { KubeLakeTable } from './types.js';

/** Changes `status` in place; must be pure (it may run again on a fresh copy after a conflict). */
export type StatusMutator = (status: MutableStatus, table: KubeLakeTable) => void;
export type MutableStatus = { -readonly [K in keyof LakeTableStatus]: LakeTableStatus[K] } & Record<
  string,
  unknown
>;

const MAX_CONFLICT_RETRIES = 5;

/**
 * Apply `mutators` to the latest status of `namespace/name`. Returns the object as written, the
 * object as read when nothing changed, or null when it no longer exists.
 */
export async function patchStatus(
  api: CustomObjectsApi,
  namespace: string,
  name: string,
  ...mutators: StatusMutator[]
): Promise<KubeLakeTable | null> {
  for (let attempt = 0; ; attempt++) {
    let current: KubeLakeTable;
    try {
      current = (await api.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        name,
      })) as KubeLakeTable;
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return null;
      throw err;
    }
    const before = (current.status ?? {}) as MutableStatus;
    const next = structuredClone(before);
    for (const m of mutators) m(next, current);
    if (isDeepStrictEqual(before, next)) return current;
    next.lastReconcileTime = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    try {
      return (await api.replaceNamespacedCustomObjectStatus({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        name,
        body: { ...current, status: next },
      })) as KubeLakeTable;
    } catch (err) {
      if (err instanceof ApiException && err.code === 409 && attempt < MAX_CONFLICT_RETRIES) continue;
      if (err instanceof ApiException && err.code === 404) return null;
      throw err;
    }
  }
}

/** Kubernetes time: RFC 3339 in whole seconds (the `date-time` format of metav1.Time). */
export function kubeTime(ms: number | string = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Status from a reconcile report: conditions, measures, last maintenance runs, next due times. */
export function fromReport(report: TableReport, startedAt: number): StatusMutator {
  return (status, table) => {
    const generation = table.metadata.generation;
    const now = kubeTime();
    status.observedGeneration = generation;
    if (report.location) status.location = report.location;
    const m = report.after ?? report.before;
    if (m) {
      status.version = m.version;
      status.files = m.files;
      status.bytes = m.bytes;
      status.smallFiles = m.smallFiles;
    }
    const conditions = [...(status.conditions ?? [])];
    // "In sync" after a pass that changed nothing keeps what the pass that synced this generation
    // said (TableCreated, SchemaEvolved), so the reason does not flip on every resync.
    const schema = schemaInSyncCondition(report);
    const previous = conditions.find((c) => c.type === schema.type);
    const keep =
      schema.reason === 'InSync' && previous?.status === 'True' && previous.observedGeneration === generation;
    for (const c of [
      readyCondition(report),
      ...(keep ? [] : [schema]),
      maintenanceHealthyCondition(report),
      degradedCondition(report),
    ])
      setCondition(conditions, c, generation, now);
    status.conditions = conditions;
    for (const a of report.actions) {
      const field = RUN_FIELD[a.kind];
      if (field && a.status !== 'not-run' && a.status !== 'planned' && a.status !== 'awaiting-approval')
        status[field] = runOf(a, startedAt, report.durationMs);
    }
    if (report.maintenancePlan && report.approval) {
      const failed = report.actions.some((a) => a.status === 'failed');
      // A compaction handed to Kubernetes Jobs is still running when the pass ends.
      const phase =
        report.approval.state === 'awaiting'
          ? 'AwaitingApproval'
          : failed
            ? 'Failed'
            : report.actions.some((a) => a.status === 'handed-off')
              ? 'Running'
              : 'Applied';
      status.plan = planStatusOf(report.maintenancePlan, report.approval, phase, table.metadata.name);
    } else if (
      report.outcome !== 'failed' &&
      status.plan &&
      (status.plan.phase === 'AwaitingApproval' || status.plan.phase === 'Planned')
    ) {
      // Nothing is due any more: a plan still waiting would be stale.
      delete status.plan;
    }
    if (report.health) status.health = healthStatusOf(report.health);
    for (const kind of ['compaction', 'checkpoint', 'vacuum'] as const) {
      const field = NEXT_FIELD[kind];
      const n = report.next.find((x) => x.kind === kind);
      if (n?.at) status[field] = kubeTime(n.at);
      else delete status[field];
    }
  };
}

/** Conditions for a table that could not be reconciled at all (invalid spec, missing Secret). */
export function blocked(reason: string, message: string): StatusMutator {
  return (status, table) => {
    const conditions = [...(status.conditions ?? [])];
    for (const c of blockedConditions(reason, message))
      setCondition(conditions, c, table.metadata.generation, kubeTime());
    status.conditions = conditions;
    status.observedGeneration = table.metadata.generation;
  };
}

const RUN_FIELD: Partial<Record<ActionReport['kind'], 'lastCompaction' | 'lastCheckpoint' | 'lastVacuum'>> = {
  compaction: 'lastCompaction',
  checkpoint: 'lastCheckpoint',
  vacuum: 'lastVacuum',
};
const NEXT_FIELD = {
  compaction: 'nextCompaction',
  checkpoint: 'nextCheckpoint',
  vacuum: 'nextVacuum',
} as const;

function runOf(a: ActionReport, startedAt: number, durationMs: number): MaintenanceRun {
  const num = (k: string): number | undefined => {
    const v = a.metrics?.[k];
    return typeof v === 'number' ? v : undefined;
  };
  const run: Record<string, unknown> = {
    startTime: kubeTime(startedAt),
    completionTime: kubeTime(startedAt + durationMs),
    result: a.status === 'done' ? 'Succeeded' : a.status === 'skipped' ? 'Skipped' : 'Failed',
    message: (a.error ? `${a.error.code}: ${a.error.message}` : (a.summary ?? a.reason)).slice(0, 4000),
    version: a.version,
    filesAdded: num('filesAdded'),
    filesRemoved: num('filesRemoved') ?? num('filesDeleted') ?? num('logFilesDeleted'),
    bytesAdded: num('bytesAdded'),
    bytesRemoved: num('bytesRemoved') ?? num('bytesDeleted'),
    memoryLimit: num('memoryLimit'),
    estimatedPeakMemory: num('estimatedPeakMemory'),
  };
  for (const k of Object.keys(run)) if (run[k] === undefined) delete run[k];
  return run as MaintenanceRun;
}

/** `status.plan` for a plan about to run (phase Planned) or waiting for approval. */
export function planStatus(
  plan: MaintenancePlanSummary,
  approval: ApprovalState,
  phase: NonNullable<PlanStatus['phase']>,
): StatusMutator {
  return (status, table) => {
    status.plan = planStatusOf(plan, approval, phase, table.metadata.name);
  };
}

/** The plan as status fields, with a message that says how to approve it when it waits. */
export function planStatusOf(
  plan: MaintenancePlanSummary,
  approval: ApprovalState,
  phase: NonNullable<PlanStatus['phase']>,
  name: string,
): PlanStatus {
  const lost = plan.vacuum?.timeTravelLost;
  const fields: Record<string, unknown> = {
    id: plan.id,
    phase,
    approval: approval.mode,
    version: plan.version,
    computedAt: kubeTime(plan.computedAt),
    actions: plan.actions.map((a) => ({ kind: a.kind, reason: a.reason.slice(0, 4000) })),
    filesToRewrite: plan.compaction?.filesToRewrite,
    bytesToRewrite: plan.compaction?.bytesToRewrite,
    filesToWrite: plan.compaction?.filesToWrite,
    filesToDelete: plan.vacuum?.filesToDelete,
    bytesToDelete: plan.vacuum?.bytesToDelete,
    timeTravelLostFrom: lost?.from,
    timeTravelLostTo: lost?.to,
    requests: { ...plan.requests },
    estimatedCost: plan.estimatedCost,
    currency: plan.currency,
    message: planMessage(plan, approval, phase, name).slice(0, 4000),
  };
  for (const k of Object.keys(fields)) if (fields[k] === undefined) delete fields[k];
  return fields as PlanStatus;
}

/** The plan in one line; when it waits, the command that approves it. */
export function planMessage(
  plan: MaintenancePlanSummary,
  approval: ApprovalState,
  phase: NonNullable<PlanStatus['phase']>,
  name: string,
): string {
  const text = formatPlanSummary(plan, formatBytes);
  if (phase !== 'AwaitingApproval') return text;
  const ignored = approval.ignoredApprovals.length
    ? ` (${APPROVE_PLAN_ANNOTATION}=${approval.ignoredApprovals.join(',')} is not this plan: stale or wrong)`
    : '';
  return `${text}; waiting for approval${ignored}: kubectl annotate laketable ${name} ${APPROVE_PLAN_ANNOTATION}=${plan.id} --overwrite`;
}

/** `status.health` from a reconcile's health measures. */
export function healthStatusOf(h: TableHealth): HealthStatus {
  const m = h.measures;
  const o: OrphanMeasure | null = h.orphans;
  const fields: Record<string, unknown> = {
    score: h.score,
    smallFileRatio: Math.round(m.smallFileRatio * 1000) / 1000,
    files: m.numFiles,
    bytes: m.sizeInBytes,
    smallFiles: m.smallFiles,
    commitsSinceCheckpoint: m.commitsSinceCheckpoint,
    // Whole milliseconds: finer jitter would rewrite the status on every pass for nothing.
    openLatestMs: Math.round(m.openLatestMs),
    removedBytesInRetention: m.removedBytesInRetention,
    orphanBytes: o?.orphanBytes,
    reclaimableBytes: o?.reclaimableBytes,
    orphanFiles: o?.orphanFiles,
    reclaimableFiles: o?.reclaimableFiles,
    orphansMeasuredAt: o ? kubeTime(o.measuredAt) : undefined,
    lastOptimizeTime: m.lastOptimize ? kubeTime(m.lastOptimize.timestamp) : undefined,
    lastVacuumTime: m.lastVacuum ? kubeTime(m.lastVacuum.timestamp) : undefined,
    lastCheckpointTime: m.lastCheckpoint ? kubeTime(m.lastCheckpoint.timestamp) : undefined,
    deductions: h.deductions.length
      ? h.deductions
          .map((d) => `-${d.points} ${d.measure}: ${d.reason}`)
          .join('; ')
          .slice(0, 4000)
      : undefined,
  };
  for (const k of Object.keys(fields)) if (fields[k] === undefined) delete fields[k];
  return fields as HealthStatus;
}

/** The orphan figures kept in `status.health`, for reuse until the next listing is due. */
export function orphansFromStatus(health: HealthStatus | undefined): OrphanMeasure | null {
  const h = health as (HealthStatus & { orphanFiles?: number; reclaimableFiles?: number }) | undefined;
  if (!h?.orphansMeasuredAt || h.orphanBytes === undefined || h.reclaimableBytes === undefined) return null;
  return {
    orphanFiles: h.orphanFiles ?? 0,
    orphanBytes: h.orphanBytes,
    reclaimableFiles: h.reclaimableFiles ?? 0,
    reclaimableBytes: h.reclaimableBytes,
    measuredAt: h.orphansMeasuredAt,
  };
}
