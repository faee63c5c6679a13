/**
 * The operator against a real kube-apiserver (test/harness/kube.ts), tables on local disk under a
 * temp folder: creation to Ready, additive evolution, a destructive change refused with the data
 * untouched, CEL refusal by the API server, compaction after small appends (status, metrics,
 * Event), and deletion under each deletionPolicy with the finalizer.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { deltaSchemaToArrow } from '../../lib/delta/arrow-schema.js';
import { Snapshot } from '../../lib/delta/snapshot.js';
import { batchFromRows } from '../../lib/data/arrow-build.js';
import { writeTable } from '../../lib/ops/write.js';
import { localStorageRoots } from '../../lib/spec/index.js';
import { LocalObjectStore } from '../../lib/storage/index.js';
import { FINALIZER } from '../../operator/src/names.js';
import { startOperator, type RunningOperator } from '../../operator/src/operator.js';
import type { KubeApiServer } from '../harness/kube.js';
import {
  condition,
  createTable,
  eventsOf,
  getTable,
  lakeTable,
  startWithCrd,
  updateSpec,
  waitFor,
  waitReady,
} from './helpers.js';

let kube: KubeApiServer;
let kc: KubeConfig;
let api: CustomObjectsApi;
let core: CoreV1Api;
let tmp: string;
let operator: RunningOperator;

beforeAll(async () => {
  kube = await startWithCrd();
  kc = kube.kubeConfig();
  api = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lk-operator-'));
  operator = await startOperator({
    kubeConfig: kc,
    storageRoots: localStorageRoots(path.join(tmp, 'data')),
    port: 0,
    // Appends do not change the spec: the resync is how the operator notices them.
    resyncMs: 2000,
    dueRequeueMs: 1000,
    baseDelayMs: 200,
    log: pino({ level: 'silent' }),
  });
}, 240_000);

afterAll(async () => {
  await operator?.stop();
  await kube?.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

const tableDir = (name: string): string => path.join(tmp, 'data', 'curated', 't', name);

async function logListing(name: string): Promise<string[]> {
  return (await fs.readdir(path.join(tableDir(name), '_delta_log'))).sort();
}

async function appendSmallFiles(name: string, n: number): Promise<void> {
  const store = new LocalObjectStore(tableDir(name));
  const schema = deltaSchemaToArrow((await Snapshot.load(store)).schema);
  for (let i = 0; i < n; i++) {
    const rows = Array.from({ length: 5 }, (_, k) => ({
      id: i * 5 + k,
      day: '2026-11-01',
      amount: `${k}.25`,
    }));
    await writeTable(store, batchFromRows(schema, rows));
  }
}

test('a new LakeTable gets the finalizer, its table is created and the status reaches Ready', async () => {
  await createTable(api, lakeTable('orders'));
  const t = await waitReady(api, 'orders');
  expect(t.metadata.finalizers).toContain(FINALIZER);
  expect(t.status).toMatchObject({
    version: 0,
    files: 0,
    bytes: 0,
    smallFiles: 0,
    location: tableDir('orders'),
  });
  expect(condition(t, 'SchemaInSync')).toMatchObject({ status: 'True', reason: 'TableCreated' });
  expect(condition(t, 'Degraded')).toMatchObject({ status: 'False' });
  expect(condition(t, 'MaintenanceHealthy')).toMatchObject({ status: 'True' });
  const snap = await Snapshot.load(new LocalObjectStore(tableDir('orders')));
  expect(snap.schema.fields.map((f) => f.name)).toEqual(['id', 'day', 'amount']);
  const events = await eventsOf(core, 'orders');
  expect(events.map((e) => e.reason)).toContain('TableCreated');
  const metrics = await (await fetch(`http://127.0.0.1:${operator.port}/metrics`)).text();
  expect(metrics).toMatch(/lakehouse_operator_reconciles_total\{outcome="created"\} [1-9]/);
  expect(metrics).toMatch(/lakehouse_table_version\{namespace="default",name="orders"\} 0/);
  expect((await fetch(`http://127.0.0.1:${operator.port}/readyz`)).status).toBe(200);
  expect((await fetch(`http://127.0.0.1:${operator.port}/healthz`)).status).toBe(200);
});

test('adding a column to the spec evolves the table', async () => {
  await createTable(api, lakeTable('evolving'));
  await waitReady(api, 'evolving');
  const updated = await updateSpec(api, 'evolving', (spec) =>
    spec.schema.columns.push({ name: 'channel', type: 'string' }),
  );
  const t = await waitFor('the new generation reconciled', async () => {
    const x = await getTable(api, 'evolving');
    return x?.status?.observedGeneration === updated.metadata.generation && x?.status?.version === 1
      ? x
      : undefined;
  });
  expect(condition(t, 'SchemaInSync')).toMatchObject({ status: 'True', reason: 'SchemaEvolved' });
  const snap = await Snapshot.load(new LocalObjectStore(tableDir('evolving')));
  expect(snap.schema.fields.map((f) => f.name)).toEqual(['id', 'day', 'amount', 'channel']);
  expect((await eventsOf(core, 'evolving')).map((e) => e.reason)).toContain('SchemaEvolved');
});

test('a destructive change sets SchemaInSync=False with the reason and leaves the data untouched', async () => {
  await createTable(api, lakeTable('fixed'));
  await waitReady(api, 'fixed');
  await appendSmallFiles('fixed', 1);
  const before = await logListing('fixed');
  await updateSpec(api, 'fixed', (spec) => {
    spec.schema.columns[2] = { name: 'amount', type: 'string' };
  });
  const t = await waitReady(api, 'fixed', 'False');
  const inSync = condition(t, 'SchemaInSync')!;
  expect(inSync).toMatchObject({ status: 'False', reason: 'DestructiveChangeRefused' });
  expect(inSync.message).toMatch(/amount/);
  expect(inSync.message).toMatch(/decimal\(10,2\)/);
  expect(condition(t, 'Ready')).toMatchObject({ status: 'False', reason: 'SchemaChangeRefused' });
  const refused = (await eventsOf(core, 'fixed')).filter((e) => e.reason === 'SchemaChangeRefused');
  expect(refused).toHaveLength(1);
  expect(refused[0]!.type).toBe('Warning');
  // Resyncs come and go (every 2 s): the log stays as it was.
  await new Promise((r) => setTimeout(r, 4500));
  expect(await logListing('fixed')).toEqual(before);
  expect((await eventsOf(core, 'fixed')).filter((e) => e.reason === 'SchemaChangeRefused')).toHaveLength(1);
});

test('an invalid spec is refused by the API server with the CEL message', async () => {
  const bad = lakeTable('bad', { location: 'file:///tmp/elsewhere' });
  const result = await kube.kubectl(['apply', '-f', '-'], { input: JSON.stringify(bad) });
  expect(result.code).not.toBe(0);
  expect(result.stderr).toContain(
    'location and storage/zone/path are exclusive: keep location, or remove it and keep zone and path',
  );
  expect(await getTable(api, 'bad')).toBeUndefined();
});

test('many small appends: compaction runs, the status shows its metrics and an Event is recorded', async () => {
  await createTable(
    api,
    lakeTable('busy', { maintenance: { suspend: true, compaction: { triggers: { smallFileCount: 5 } } } }),
  );
  await waitReady(api, 'busy');
  await appendSmallFiles('busy', 8);
  // Suspended while appending: a resync (every 2 s) after the fifth append would otherwise
  // compact five files, not eight (seen on a loaded machine).
  await updateSpec(api, 'busy', (spec) => (spec.maintenance.suspend = false));
  const t = await waitFor(
    'a compaction in the status',
    async () => {
      const x = await getTable(api, 'busy');
      return x?.status?.lastCompaction?.result === 'Succeeded' ? x : undefined;
    },
    60_000,
  );
  expect(t.status!.lastCompaction).toMatchObject({ filesRemoved: 8, filesAdded: 1 });
  expect(t.status!.lastCompaction!.bytesAdded).toBeGreaterThan(0);
  await waitFor('status measures after compaction', async () => {
    const x = await getTable(api, 'busy');
    return x?.status?.files === 1 && x.status.smallFiles === 1 ? x : undefined;
  });
  const compacted = (await eventsOf(core, 'busy')).find((e) => e.reason === 'Compacted');
  expect(compacted?.message).toMatch(/merged 8 files into 1/);
  const metrics = await (await fetch(`http://127.0.0.1:${operator.port}/metrics`)).text();
  expect(metrics).toMatch(/lakehouse_operator_maintenance_runs_total\{kind="compaction",result="done"\} 1/);
  expect(metrics).toMatch(/lakehouse_operator_files_removed_total\{kind="compaction"\} 8/);
  expect(metrics).toMatch(/lakehouse_operator_bytes_rewritten_total [1-9]/);
});

test('deletionPolicy Retain leaves the data; Delete removes it before the finalizer goes', async () => {
  await createTable(api, lakeTable('kept', { deletionPolicy: 'Retain' }));
  await createTable(api, lakeTable('dropped', { deletionPolicy: 'Delete' }));
  await waitReady(api, 'kept');
  await waitReady(api, 'dropped');
  await appendSmallFiles('kept', 2);
  await appendSmallFiles('dropped', 2);

  await api.deleteNamespacedCustomObject({
    group: 'lakehouse.dev',
    version: 'v1alpha1',
    namespace: 'default',
    plural: 'laketables',
    name: 'kept',
  });
  await api.deleteNamespacedCustomObject({
    group: 'lakehouse.dev',
    version: 'v1alpha1',
    namespace: 'default',
    plural: 'laketables',
    name: 'dropped',
  });
  await waitFor(
    'both LakeTables gone',
    async () => !(await getTable(api, 'kept')) && !(await getTable(api, 'dropped')),
  );

  expect(await logListing('kept')).toContain('00000000000000000002.json');
  await expect(fs.stat(tableDir('dropped'))).rejects.toMatchObject({ code: 'ENOENT' });
  const reasons = [...(await eventsOf(core, 'kept')), ...(await eventsOf(core, 'dropped'))].map(
    (e) => e.reason,
  );
  expect(reasons).toEqual(expect.arrayContaining(['DataRetained', 'DataDeleted']));
});

test('Delete waits while its clean-up cannot run: the finalizer stays until it succeeds', async () => {
  await createTable(api, lakeTable('guarded', { deletionPolicy: 'Delete' }));
  await waitReady(api, 'guarded');
  // Make the clean-up fail: the Secret the spec will name does not exist yet.
  await updateSpec(api, 'guarded', (spec) => {
    spec.storageSecretRef = { name: 'guarded-storage' };
  });
  await api.deleteNamespacedCustomObject({
    group: 'lakehouse.dev',
    version: 'v1alpha1',
    namespace: 'default',
    plural: 'laketables',
    name: 'guarded',
  });
  await waitFor('a DeletionFailed Event', async () =>
    (await eventsOf(core, 'guarded')).some(
      (e) => e.reason === 'DeletionFailed' && /guarded-storage/.test(e.message ?? ''),
    ),
  );
  const pending = await getTable(api, 'guarded');
  expect(pending?.metadata.deletionTimestamp).toBeDefined();
  expect(pending?.metadata.finalizers).toContain(FINALIZER);
  expect((await fs.readdir(tableDir('guarded'))).length).toBeGreaterThan(0);

  await core.createNamespacedSecret({
    namespace: 'default',
    body: { metadata: { name: 'guarded-storage' }, stringData: { region: 'local' } },
  });
  await waitFor('the LakeTable gone', async () => !(await getTable(api, 'guarded')), 60_000);
  await expect(fs.stat(tableDir('guarded'))).rejects.toMatchObject({ code: 'ENOENT' });
});
