/**
 * The maintenance plan in the operator, against a real kube-apiserver, tables on local disk: the
 * plan is in `status.plan` and a `MaintenancePlanned` Event before compaction runs (seen through a
 * watch of the LakeTable), the compaction runs under the operator's memory budget; with
 * `maintenance.approval: Manual` nothing is rewritten until the annotation
 * `lakehouse.dev/approve-plan` holds the current plan id, and a wrong or stale id does nothing.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CoreV1Api, CustomObjectsApi, Watch, type KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { deltaSchemaToArrow } from '../../lib/delta/arrow-schema.js';
import { Snapshot } from '../../lib/delta/snapshot.js';
import { batchFromRows } from '../../lib/data/arrow-build.js';
import { writeTable } from '../../lib/ops/write.js';
import { localStorageRoots, type LakeTableStatus } from '../../lib/spec/index.js';
import { LocalObjectStore } from '../../lib/storage/index.js';
import { MAINTENANCE_MEMORY_SHARE } from '../../operator/src/memory.js';
import { startOperator, type RunningOperator } from '../../operator/src/operator.js';
import type { KubeApiServer } from '../harness/kube.js';
import {
  condition,
  createTable,
  eventsOf,
  getTable,
  GROUP,
  lakeTable,
  PLURAL,
  startWithCrd,
  updateSpec,
  VERSION,
  waitFor,
  waitReady,
} from './helpers.js';

let kube: KubeApiServer;
let kc: KubeConfig;
let api: CustomObjectsApi;
let core: CoreV1Api;
let tmp: string;
let operator: RunningOperator;
// The operator runs inside this jest worker, whose resident memory counts against the budget (a
// deployed operator has its own process): keep 4 GiB above what the worker holds (see health.test.ts).
const MEMORY_LIMIT = Math.ceil(process.memoryUsage().rss / 1024 ** 3) * 1024 ** 3 + 4 * 1024 ** 3;

beforeAll(async () => {
  kube = await startWithCrd();
  kc = kube.kubeConfig();
  api = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lk-approval-'));
  operator = await startOperator({
    kubeConfig: kc,
    storageRoots: localStorageRoots(path.join(tmp, 'data')),
    port: 0,
    resyncMs: 2000,
    dueRequeueMs: 1000,
    baseDelayMs: 200,
    memoryLimit: String(MEMORY_LIMIT),
    log: pino({ level: 'silent' }),
  });
}, 240_000);

afterAll(async () => {
  await operator?.stop();
  await kube?.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

const tableDir = (name: string): string => path.join(tmp, 'data', 'curated', 't', name);

async function appendSmallFiles(name: string, n: number, from = 0): Promise<void> {
  const store = new LocalObjectStore(tableDir(name));
  const schema = deltaSchemaToArrow((await Snapshot.load(store)).schema);
  for (let i = from; i < from + n; i++) {
    const rows = Array.from({ length: 5 }, (_, k) => ({
      id: i * 5 + k,
      day: '2026-11-01',
      amount: `${k}.25`,
    }));
    await writeTable(store, batchFromRows(schema, rows));
  }
}

const tableVersion = async (name: string): Promise<number> =>
  (await Snapshot.load(new LocalObjectStore(tableDir(name)))).version;

async function annotate(name: string, value: string): Promise<void> {
  const r = await kube.kubectl([
    'annotate',
    'laketable',
    name,
    `lakehouse.dev/approve-plan=${value}`,
    '--overwrite',
  ]);
  expect(r.code).toBe(0);
}

test('Automatic: the plan is in the status and an Event before compaction runs, under the memory budget', async () => {
  await createTable(
    api,
    lakeTable('auto', {
      maintenance: {
        suspend: true,
        // Only compaction is planned: no checkpoint plan replaces status.plan in between.
        checkpoint: { enabled: false },
        compaction: { triggers: { smallFileCount: 5 } },
      },
    }),
  );
  await waitReady(api, 'auto');
  // Every status the API server stores, in order.
  const statuses: LakeTableStatus[] = [];
  const watch = await new Watch(kc).watch(
    `/apis/${GROUP}/${VERSION}/namespaces/default/${PLURAL}`,
    { fieldSelector: 'metadata.name=auto' },
    (_type, obj: { status?: LakeTableStatus }) => {
      if (obj.status) statuses.push(structuredClone(obj.status));
    },
    () => undefined,
  );
  try {
    // Appended while maintenance is suspended, so the first plan sees all eight files.
    await appendSmallFiles('auto', 8);
    await updateSpec(api, 'auto', (spec) => (spec.maintenance.suspend = false));
    const t = await waitFor('the compaction in the status', async () => {
      const x = await getTable(api, 'auto');
      return x?.status?.lastCompaction?.result === 'Succeeded' ? x : undefined;
    });
    // The compaction's plan (a checkpoint may be planned later, on its own).
    const planned = statuses.findIndex(
      (s) => s.plan?.phase === 'Planned' && s.plan.actions?.some((a) => a.kind === 'compaction'),
    );
    const compacted = statuses.findIndex((s) => s.lastCompaction !== undefined);
    expect(planned).toBeGreaterThanOrEqual(0);
    expect(compacted).toBeGreaterThan(planned);
    const plan = statuses[planned]!.plan!;
    expect(plan.id).toMatch(/^[0-9a-f]{16}$/);
    expect(plan).toMatchObject({
      approval: 'Automatic',
      version: 8,
      filesToRewrite: 8,
      filesToWrite: 1,
      actions: [expect.objectContaining({ kind: 'compaction' })],
      requests: { read: 16, list: 0, delete: 0 },
      currency: 'USD',
    });
    expect(plan.bytesToRewrite).toBeGreaterThan(0);
    expect(t.status!.lastCompaction).toMatchObject({
      filesRemoved: 8,
      filesAdded: 1,
      memoryLimit: Math.floor(MEMORY_LIMIT * MAINTENANCE_MEMORY_SHARE),
    });
    expect(t.status!.lastCompaction!.estimatedPeakMemory).toBeGreaterThan(0);

    const events = await eventsOf(core, 'auto');
    const plannedEvent = events.find((e) => e.reason === 'MaintenancePlanned');
    const compactedEvent = events.find((e) => e.reason === 'Compacted');
    expect(plannedEvent?.message).toContain(`plan ${plan.id} at version 8: compaction rewrites 8 files`);
    // Event resourceVersions are etcd revisions of one store: they order the two writes.
    expect(Number(plannedEvent!.metadata.resourceVersion)).toBeLessThan(
      Number(compactedEvent!.metadata.resourceVersion),
    );
    const metrics = await (await fetch(`http://127.0.0.1:${operator.port}/metrics`)).text();
    expect(metrics).toContain(
      `lakehouse_operator_maintenance_memory_budget_bytes ${Math.floor(MEMORY_LIMIT * MAINTENANCE_MEMORY_SHARE)}`,
    );
  } finally {
    watch.abort();
  }
});

test('Manual: nothing is rewritten until the annotation holds the current plan id; wrong and stale ids do nothing', async () => {
  await createTable(
    api,
    lakeTable('manual', {
      maintenance: {
        suspend: true,
        approval: 'Manual',
        checkpoint: { enabled: false },
        compaction: { triggers: { smallFileCount: 5 } },
      },
    }),
  );
  await waitReady(api, 'manual');
  // Appended while maintenance is suspended, so the first plan sees all six files.
  await appendSmallFiles('manual', 6);
  await updateSpec(api, 'manual', (spec) => (spec.maintenance.suspend = false));
  const waiting = await waitFor('a plan awaiting approval', async () => {
    const x = await getTable(api, 'manual');
    return x?.status?.plan?.phase === 'AwaitingApproval' &&
      condition(x, 'MaintenanceHealthy')?.reason === 'AwaitingApproval'
      ? x
      : undefined;
  });
  const firstId = waiting.status!.plan!.id;
  expect(waiting.status!.plan).toMatchObject({ approval: 'Manual', filesToRewrite: 6 });
  expect(waiting.status!.plan!.message).toContain(
    `kubectl annotate laketable manual lakehouse.dev/approve-plan=${firstId} --overwrite`,
  );
  expect(condition(waiting, 'MaintenanceHealthy')).toMatchObject({
    status: 'True',
    reason: 'AwaitingApproval',
  });
  const planned = (await eventsOf(core, 'manual')).filter((e) => e.reason === 'MaintenancePlanned');
  expect(planned).toHaveLength(1);
  expect(planned[0]!.message).toContain(firstId);
  let metrics = await (await fetch(`http://127.0.0.1:${operator.port}/metrics`)).text();
  expect(metrics).toContain('lakehouse_table_plan_awaiting_approval{namespace="default",name="manual"} 1');

  // Several resyncs later: still waiting, nothing rewritten, no second Event for the same plan.
  await new Promise((r) => setTimeout(r, 5000));
  expect(await tableVersion('manual')).toBe(6);
  expect((await eventsOf(core, 'manual')).filter((e) => e.reason === 'MaintenancePlanned')).toHaveLength(1);

  // A wrong id: reconciled (the status names it), nothing runs.
  await annotate('manual', 'not-a-plan-id');
  await waitFor('the wrong id reported', async () => {
    const x = await getTable(api, 'manual');
    return x?.status?.plan?.message?.includes('approve-plan=not-a-plan-id is not this plan') ? x : undefined;
  });
  expect(await tableVersion('manual')).toBe(6);

  // New small files change the plan; the first id is now stale.
  await appendSmallFiles('manual', 2, 100);
  const changed = await waitFor('a new plan', async () => {
    const x = await getTable(api, 'manual');
    return x?.status?.plan?.id !== firstId && x?.status?.plan?.filesToRewrite === 8 ? x : undefined;
  });
  const secondId = changed.status!.plan!.id;
  await annotate('manual', firstId);
  await waitFor('the stale id reported', async () => {
    const x = await getTable(api, 'manual');
    return x?.status?.plan?.message?.includes(`approve-plan=${firstId} is not this plan`) ? x : undefined;
  });
  expect(await tableVersion('manual')).toBe(8);
  expect((await getTable(api, 'manual'))!.status!.lastCompaction).toBeUndefined();

  // The current id: compaction runs, the plan is Applied.
  await annotate('manual', secondId);
  const done = await waitFor('the approved compaction', async () => {
    const x = await getTable(api, 'manual');
    return x?.status?.lastCompaction?.result === 'Succeeded' ? x : undefined;
  });
  expect(done.status!.lastCompaction).toMatchObject({ filesRemoved: 8, filesAdded: 1 });
  expect(done.status!.plan).toMatchObject({ id: secondId, phase: 'Applied' });
  expect(await tableVersion('manual')).toBe(9);
  expect(condition(done, 'MaintenanceHealthy')).toMatchObject({ status: 'True', reason: 'MaintenanceOk' });
  metrics = await (await fetch(`http://127.0.0.1:${operator.port}/metrics`)).text();
  expect(metrics).toContain('lakehouse_table_plan_awaiting_approval{namespace="default",name="manual"} 0');
});
