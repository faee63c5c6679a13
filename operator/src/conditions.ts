/**
 * The conditions of `status.conditions`, each made by a named function from what a reconcile
 * found. `setCondition` keeps `lastTransitionTime` while the status stays the same, as
 * Kubernetes' meta.SetStatusCondition does.
 */
import { APPROVE_PLAN_ANNOTATION, type LakeTableCondition } from '../../lib/spec/index.js';
import type { TableReport } from '../../lib/reconcile/index.js';
import { CONDITION } from './names.js';

interface NewCondition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
}

const MAX_MESSAGE = 4000;

function clip(message: string): string {
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message;
}

/** Ready: the table exists at its location and matches the spec (status True), or why not. */
export function readyCondition(report: TableReport): NewCondition {
  switch (report.outcome) {
    case 'failed':
      return {
        type: CONDITION.ready,
        status: 'False',
        reason: 'ReconcileFailed',
        message: clip(`${report.error?.code}: ${report.error?.message}`),
      };
    case 'refused':
      return {
        type: CONDITION.ready,
        status: 'False',
        reason: 'SchemaChangeRefused',
        message:
          'the table exists but differs from the spec in a way reconcile will not change; see SchemaInSync',
      };
    default:
      return {
        type: CONDITION.ready,
        status: 'True',
        reason: 'TableReady',
        message: `table at ${report.location} is at version ${report.after?.version ?? report.before?.version}`,
      };
  }
}

/** SchemaInSync: the table's columns, partitioning and properties are those of the spec. */
export function schemaInSyncCondition(report: TableReport): NewCondition {
  if (report.refusals.length > 0)
    return {
      type: CONDITION.schemaInSync,
      status: 'False',
      reason: 'DestructiveChangeRefused',
      message: clip(report.refusals.map((r) => (r.path ? `${r.path}: ${r.reason}` : r.reason)).join('; ')),
    };
  const schemaAction = report.actions.find(
    (a) => a.kind === 'create' || a.kind === 'addColumns' || a.kind === 'setProperties',
  );
  if (
    report.outcome === 'failed' &&
    (!report.after || schemaAction?.status === 'failed' || schemaAction?.status === 'not-run')
  )
    return {
      type: CONDITION.schemaInSync,
      status: 'Unknown',
      reason: 'ReconcileFailed',
      message: clip(report.error?.message ?? 'reconcile failed'),
    };
  return {
    type: CONDITION.schemaInSync,
    status: 'True',
    reason: schemaAction ? (schemaAction.kind === 'create' ? 'TableCreated' : 'SchemaEvolved') : 'InSync',
    message: schemaAction?.summary ?? 'the table schema matches the spec',
  };
}

/**
 * MaintenanceHealthy: no compaction, checkpoint or vacuum failed on the last pass, and none was
 * refused for memory (reason `MemoryLimit`, status False). Reason
 * `AwaitingApproval` (status True: nothing is wrong) while compaction or vacuum waits for its
 * plan to be approved, `WaitingForWindow` while due work waits for the maintenance window.
 */
export function maintenanceHealthyCondition(report: TableReport): NewCondition {
  const failed = report.actions.filter(
    (a) =>
      (a.kind === 'compaction' || a.kind === 'checkpoint' || a.kind === 'vacuum') && a.status === 'failed',
  );
  if (failed.length > 0)
    return {
      type: CONDITION.maintenanceHealthy,
      status: 'False',
      reason: 'MaintenanceFailed',
      message: clip(failed.map((a) => `${a.kind}: ${a.error?.code}: ${a.error?.message}`).join('; ')),
    };
  // Only maintenance planning refuses for memory (compaction cannot fit the budget): the pass
  // failed before any maintenance ran, which is not "up to date".
  if (report.outcome === 'failed' && report.error?.code === 'MEMORY_LIMIT')
    return {
      type: CONDITION.maintenanceHealthy,
      status: 'False',
      reason: 'MemoryLimit',
      message: clip(`compaction: ${report.error.message}`),
    };
  if (report.approval?.state === 'awaiting' && report.maintenancePlan)
    return {
      type: CONDITION.maintenanceHealthy,
      status: 'True',
      reason: 'AwaitingApproval',
      message: clip(
        `plan ${report.maintenancePlan.id} waits for approval (maintenance.approval: Manual): ` +
          `kubectl annotate laketable ${report.name} ${APPROVE_PLAN_ANNOTATION}=${report.maintenancePlan.id} --overwrite`,
      ),
    };
  const waiting = report.next.filter((n) => n.due && n.waitingForWindow);
  return {
    type: CONDITION.maintenanceHealthy,
    status: 'True',
    reason: waiting.length > 0 ? 'WaitingForWindow' : 'MaintenanceOk',
    message:
      waiting.length > 0
        ? `due, waiting for the maintenance window: ${waiting.map((n) => n.kind).join(', ')}`
        : 'maintenance is up to date',
  };
}

/** Degraded: the last reconcile failed (True, with the error), or not. */
export function degradedCondition(report: TableReport): NewCondition {
  return report.outcome === 'failed'
    ? {
        type: CONDITION.degraded,
        status: 'True',
        reason: reasonOf(report.error?.code ?? 'INTERNAL'),
        message: clip(report.error?.message ?? 'reconcile failed'),
      }
    : {
        type: CONDITION.degraded,
        status: 'False',
        reason: 'AsExpected',
        message: 'the last reconcile succeeded',
      };
}

/** Ready=False, Degraded=True for a failure before reconcile could run (invalid spec, credentials). */
export function blockedConditions(reason: string, message: string): NewCondition[] {
  return [
    { type: CONDITION.ready, status: 'False', reason, message: clip(message) },
    { type: CONDITION.degraded, status: 'True', reason, message: clip(message) },
  ];
}

/** `STORAGE_CONFIG` → `StorageConfig`: error codes as CamelCase condition reasons. */
export function reasonOf(code: string): string {
  return code
    .toLowerCase()
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/** Put `condition` into `conditions` (by type), keeping lastTransitionTime when the status did not change. */
export function setCondition(
  conditions: LakeTableCondition[],
  condition: NewCondition,
  generation: number | undefined,
  now: string,
): void {
  const i = conditions.findIndex((c) => c.type === condition.type);
  const previous = i >= 0 ? conditions[i] : undefined;
  const next: LakeTableCondition = {
    ...condition,
    lastTransitionTime:
      previous && previous.status === condition.status && previous.lastTransitionTime
        ? previous.lastTransitionTime
        : now,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  if (i >= 0) conditions[i] = next;
  else conditions.push(next);
}
