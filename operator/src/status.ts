/**
 * Status writes. Every write goes through `patchStatus`: it re-reads the object, applies small pure
 * mutators to a copy of its status, skips the write when nothing changed, and writes through the
 * status subresource with the resourceVersion it read, retrying on 409 Conflict.
 */
import { ApiException, CustomObjectsApi } from './kube.js';
import { isDeepStrictEqual } from 'node:util';
import type { LakeTableStatus, MaintenanceRun } from '../../lib/spec/index.js';
import type { ActionReport, TableReport } from '../../lib/reconcile/index.js';
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
      if (field && a.status !== 'not-run' && a.status !== 'planned')
        status[field] = runOf(a, startedAt, report.durationMs);
    }
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
  };
  for (const k of Object.keys(run)) if (run[k] === undefined) delete run[k];
  return run as MaintenanceRun;
}
