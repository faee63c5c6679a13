/**
 * The operator at scale and through an API server restart: 200 LakeTables all reach Ready, and
 * after kube-apiserver restarts the watch resumes (a table created afterwards is reconciled
 * without waiting for a resync).
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import pino from 'pino';
import { localStorageRoots } from '../../lib/spec/index.js';
import { startOperator, type RunningOperator } from '../../operator/src/operator.js';
import type { KubeApiServer } from '../harness/kube.js';
import {
  condition,
  createTable,
  lakeTable,
  startWithCrd,
  waitReady,
  waitFor,
  GROUP,
  VERSION,
  PLURAL,
} from './helpers.js';

let kube: KubeApiServer;
let api: CustomObjectsApi;
let tmp: string;
let operator: RunningOperator;

beforeAll(async () => {
  kube = await startWithCrd();
  api = kube.kubeConfig().makeApiClient(CustomObjectsApi);
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lk-scale-'));
  operator = await startOperator({
    kubeConfig: kube.kubeConfig(),
    storageRoots: localStorageRoots(path.join(tmp, 'data')),
    port: null,
    // No resync during the test: whatever happens is driven by the watch.
    resyncMs: 3_600_000,
    concurrency: 8,
    log: pino({ level: 'silent' }),
  });
}, 240_000);

afterAll(async () => {
  await operator?.stop();
  await kube?.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

async function countReady(): Promise<number> {
  const list = (await api.listNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: 'default',
    plural: PLURAL,
  })) as { items: Parameters<typeof condition>[0][] };
  return list.items.filter((t) => condition(t, 'Ready')?.status === 'True').length;
}

test('200 LakeTables all reach Ready', async () => {
  const started = Date.now();
  const names = Array.from({ length: 200 }, (_, i) => `scale-${String(i).padStart(3, '0')}`);
  for (let i = 0; i < names.length; i += 20)
    await Promise.all(names.slice(i, i + 20).map((n) => createTable(api, lakeTable(n))));
  await waitFor('200 tables Ready', async () => (await countReady()) === 200, 170_000);
  const seconds = (Date.now() - started) / 1000;
  const tables = await fs.readdir(path.join(tmp, 'data', 'curated', 't'));
  expect(tables).toHaveLength(200);
  process.stdout.write(
    `200 LakeTables Ready in ${seconds.toFixed(1)} s; reconciles: ${operator.controller()!.reconcileCount}; ` +
      `RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB (jest process)\n`,
  );
}, 200_000);

test('the watch survives a kube-apiserver restart', async () => {
  await kube.restart();
  await createTable(api, lakeTable('after-restart'));
  const t = await waitReady(api, 'after-restart', 'True', 60_000);
  expect(t.status?.version).toBe(0);
}, 120_000);
