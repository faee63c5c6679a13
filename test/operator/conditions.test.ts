/** The conditions a reconcile report turns into: they agree with one another. */
import type { TableReport } from '../../lib/reconcile/index.js';
import {
  degradedCondition,
  maintenanceHealthyCondition,
  readyCondition,
} from '../../operator/src/conditions.js';

/** A report of a pass that failed with `code` before any action ran. */
function failedPass(code: string, message: string): TableReport {
  return {
    name: 'events',
    outcome: 'failed',
    actions: [],
    refusals: [],
    next: [],
    error: { code, message },
  } as unknown as TableReport;
}

test('a compaction refused for memory makes MaintenanceHealthy False with the refusal, as Ready and Degraded say', () => {
  const message =
    'optimize: --memory-limit 1.6 GiB is too small: this process already uses 1.4 GiB; raise --memory-limit to at least 1.9 GiB';
  const report = failedPass('MEMORY_LIMIT', message);
  expect(readyCondition(report)).toMatchObject({ status: 'False', reason: 'ReconcileFailed' });
  expect(degradedCondition(report)).toMatchObject({ status: 'True', reason: 'MemoryLimit' });
  expect(maintenanceHealthyCondition(report)).toEqual({
    type: 'MaintenanceHealthy',
    status: 'False',
    reason: 'MemoryLimit',
    message: `compaction: ${message}`,
  });
});

test('a pass that failed for another reason leaves MaintenanceHealthy to the maintenance actions', () => {
  expect(maintenanceHealthyCondition(failedPass('ACCESS_DENIED', 'storage: access denied'))).toMatchObject({
    status: 'True',
    reason: 'MaintenanceOk',
  });
});
