/**
 * Names the operator writes into the cluster, in one place: the finalizer, the event source, the
 * condition types and reasons. Users and alerts match on them, so they never change silently.
 */
import { LAKETABLE_GROUP, LAKETABLE_PLURAL, LAKETABLE_VERSION } from '../../lib/spec/index.js';

/** Added to every LakeTable on first sight; removed only after the deletionPolicy clean-up succeeded. */
export const FINALIZER = 'lakehouse.dev/finalizer';

/** `source.component` / `reportingComponent` of the Events the operator records. */
export const COMPONENT = 'lakehouse-operator';

export const GROUP = LAKETABLE_GROUP;
export const VERSION = LAKETABLE_VERSION;
export const PLURAL = LAKETABLE_PLURAL;

/** Condition types of `status.conditions`. */
export const CONDITION = {
  ready: 'Ready',
  schemaInSync: 'SchemaInSync',
  maintenanceHealthy: 'MaintenanceHealthy',
  degraded: 'Degraded',
} as const;

/** `namespace/name`: the work-queue key of a LakeTable. */
export function tableKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? 'default'}/${name}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
