/**
 * Table health in the operator, against a real kube-apiserver, tables on local disk: each health
 * measure is a gauge `lakehouse_table_<measure>{namespace,name}` on /metrics equal to
 * `status.health`, `kubectl get laketables` shows the SCORE column, the series go when the
 * LakeTable is deleted; the memory budget comes from the Downward API variable (or the cgroup).
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { deltaSchemaToArrow } from '../../lib/delta/arrow-schema.js';
import { Snapshot } from '../../lib/delta/snapshot.js';
import { batchFromRows } from '../../lib/data/arrow-build.js';
import { writeTable } from '../../lib/ops/write.js';
import { localStorageRoots } from '../../lib/spec/index.js';
import { LocalObjectStore } from '../../lib/storage/index.js';
import {
  MAINTENANCE_MEMORY_SHARE,
  MEMORY_LIMIT_ENV,
  resolveMemoryBudget,
} from '../../operator/src/memory.js';
import { startOperator, type RunningOperator } from '../../operator/src/operator.js';
import type { KubeApiServer } from '../harness/kube.js';
import {
  createTable,
  getTable,
  lakeTable,
  GROUP,
  PLURAL,
  VERSION,
  startWithCrd,
  updateSpec,
  waitFor,
  waitReady,
} from './helpers.js';

let kube: KubeApiServer;
let kc: KubeConfig;
let api: CustomObjectsApi;
let tmp: string;
let operator: RunningOperator;
const GiB = 1024 ** 3;
// The operator runs inside this jest worker, whose resident memory (what earlier suites left: up
// to 2.5 GiB seen in CI) counts against the maintenance budget as a dedicated operator's would
// not; a fixed 2 GiB limit then refused the compaction on a full run. Give it 2 GiB above that.
const LIMIT = Math.ceil(process.memoryUsage().rss / GiB) * GiB + 2 * GiB;

beforeAll(async () => {
  kube = await startWithCrd();
  kc = kube.kubeConfig();
  api = kc.makeApiClient(CustomObjectsApi);
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lk-health-'));
  // As the Deployment sets it from resourceFieldRef limits.memory.
  const saved = process.env[MEMORY_LIMIT_ENV];
  process.env[MEMORY_LIMIT_ENV] = String(LIMIT);
  try {
    operator = await startOperator({
      kubeConfig: kc,
      storageRoots: localStorageRoots(path.join(tmp, 'data')),
      port: 0,
      resyncMs: 2000,
      dueRequeueMs: 1000,
      baseDelayMs: 200,
      // List for orphans on every pass, so the test sees the stray file at once.
      healthListIntervalMs: 0,
      log: pino({ level: 'silent' }),
    });
  } finally {
    if (saved === undefined) delete process.env[MEMORY_LIMIT_ENV];
    else process.env[MEMORY_LIMIT_ENV] = saved;
  }
}, 240_000);

afterAll(async () => {
  await operator?.stop();
  await kube?.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

const tableDir = (name: string): string => path.join(tmp, 'data', 'curated', 't', name);

async function metrics(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${operator.port}/metrics`)).text();
}

/** The value of `metric{namespace="default",name="<table>"}`, or undefined when absent. */
function gauge(text: string, metric: string, table: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${metric}{namespace="default",name="${table}"} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('each health measure is a gauge equal to status.health; kubectl shows SCORE; the series go with the table', async () => {
  await createTable(
    api,
    lakeTable('healthy', { maintenance: { suspend: true, compaction: { triggers: { smallFileCount: 5 } } } }),
  );
  await waitReady(api, 'healthy');
  const store = new LocalObjectStore(tableDir('healthy'));
  const schema = deltaSchemaToArrow((await Snapshot.load(store)).schema);
  for (let i = 0; i < 6; i++)
    await writeTable(store, batchFromRows(schema, [{ id: i, day: '2026-11-01', amount: '1.50' }]));
  // A file no version reads, older than the 7-day retention: what vacuum would reclaim.
  const stray = path.join(tableDir('healthy'), 'day=2026-11-01', 'part-stray.snappy.parquet');
  await fs.writeFile(stray, Buffer.alloc(4096, 1));
  const old = new Date(Date.now() - 10 * 24 * 3_600_000);
  await fs.utimes(stray, old, old);
  // Maintenance was suspended while appending, so one compaction takes all six files.
  await updateSpec(api, 'healthy', (spec) => (spec.maintenance.suspend = false));

  let seen: unknown;
  const t = await waitFor('compaction done and health measured with the orphan', async () => {
    const x = await getTable(api, 'healthy');
    seen = { lastCompaction: x?.status?.lastCompaction, health: x?.status?.health };
    return x?.status?.lastCompaction?.result === 'Succeeded' &&
      x.status.health?.reclaimableBytes === 4096 &&
      x.status.health.files === 1
      ? x
      : undefined;
  }).catch((err: Error) => {
    throw new Error(`${err.message}; the last status seen: ${JSON.stringify(seen)}`);
  });
  const h = t.status!.health!;
  expect(h).toMatchObject({
    files: 1,
    smallFiles: 1,
    smallFileRatio: 1,
    orphanBytes: 4096,
    reclaimableBytes: 4096,
    commitsSinceCheckpoint: 8,
  });
  expect(h.removedBytesInRetention).toBeGreaterThan(0); // the six compacted files, kept for time travel
  expect(h.lastOptimizeTime).toBeDefined();
  expect(h.deductions).toContain('orphans');
  expect(h.score).toBeLessThan(100);
  expect(h.score).toBeGreaterThan(50);

  const text = await waitFor('gauges of the same pass as the status', async () => {
    const m = await metrics();
    const x = (await getTable(api, 'healthy'))!.status!.health!;
    return gauge(m, 'lakehouse_table_health_score', 'healthy') === x.score &&
      gauge(m, 'lakehouse_table_commits_since_checkpoint', 'healthy') === x.commitsSinceCheckpoint
      ? m
      : undefined;
  });
  const now = (await getTable(api, 'healthy'))!.status!.health!;
  expect(gauge(text, 'lakehouse_table_files', 'healthy')).toBe(now.files);
  expect(gauge(text, 'lakehouse_table_bytes', 'healthy')).toBe(now.bytes);
  expect(gauge(text, 'lakehouse_table_small_file_ratio', 'healthy')).toBe(1);
  expect(gauge(text, 'lakehouse_table_orphan_bytes', 'healthy')).toBe(4096);
  expect(gauge(text, 'lakehouse_table_reclaimable_bytes', 'healthy')).toBe(4096);
  expect(gauge(text, 'lakehouse_table_removed_bytes_in_retention', 'healthy')).toBe(
    now.removedBytesInRetention,
  );
  expect(gauge(text, 'lakehouse_table_open_latest_seconds', 'healthy')).toBeGreaterThan(0);
  const optimizeAge = gauge(text, 'lakehouse_table_last_optimize_age_seconds', 'healthy')!;
  expect(optimizeAge).toBeGreaterThanOrEqual(0);
  expect(optimizeAge).toBeLessThan(120);
  expect(gauge(text, 'lakehouse_table_last_vacuum_age_seconds', 'healthy')).toBeUndefined(); // never vacuumed
  expect(text).toContain(
    `lakehouse_operator_maintenance_memory_budget_bytes ${Math.floor(LIMIT * MAINTENANCE_MEMORY_SHARE)}`,
  );
  expect(t.status!.lastCompaction!.memoryLimit).toBe(Math.floor(LIMIT * MAINTENANCE_MEMORY_SHARE));

  // kubectl get laketables: the SCORE column holds the status's score.
  const got = await kube.kubectl(['get', 'laketables', '-n', 'default', 'healthy']);
  expect(got.code).toBe(0);
  const [header, row] = got.stdout.trim().split('\n');
  const columns = header!.split(/\s{2,}/);
  expect(columns).toContain('SCORE');
  const score = row!.split(/\s{2,}/)[columns.indexOf('SCORE')];
  expect(Number(score)).toBe((await getTable(api, 'healthy'))!.status!.health!.score);

  // Deleted: every per-table series goes.
  await api.deleteNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: 'default',
    plural: PLURAL,
    name: 'healthy',
  });
  await waitFor('the LakeTable gone', async () => ((await getTable(api, 'healthy')) ? undefined : true));
  const after = await waitFor('the series removed', async () => {
    const m = await metrics();
    return m.includes('name="healthy"') ? undefined : m;
  });
  expect(after).not.toMatch(/lakehouse_table_\w+\{namespace="default",name="healthy"\}/);
});

describe('the memory budget', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lk-cgroup-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });
  const file = async (name: string, text: string): Promise<string> => {
    const p = path.join(dir, name);
    await fs.writeFile(p, text);
    return p;
  };

  test('flag, then the Downward API variable, then cgroup v2, then v1; unlimited means none', async () => {
    const v2 = await file('memory.max', '1073741824\n');
    const v2max = await file('memory.max.unlimited', 'max\n');
    const v1 = await file('limit_in_bytes', '536870912\n');
    const v1max = await file('limit_in_bytes.unlimited', '9223372036854771712\n');
    const none = path.join(dir, 'absent');
    const share = MAINTENANCE_MEMORY_SHARE;
    expect(
      resolveMemoryBudget({ configured: '1Gi', env: { [MEMORY_LIMIT_ENV]: '5' }, cgroupV2Path: v2 }),
    ).toEqual({
      limit: 1024 ** 3,
      budget: Math.floor(1024 ** 3 * share),
      source: 'flag',
    });
    expect(resolveMemoryBudget({ env: { [MEMORY_LIMIT_ENV]: '536870912' }, cgroupV2Path: v2 })).toMatchObject(
      {
        limit: 536870912,
        source: 'env',
      },
    );
    // The Downward API gives 0 for a container without a limit: fall through to the cgroup.
    expect(resolveMemoryBudget({ env: { [MEMORY_LIMIT_ENV]: '0' }, cgroupV2Path: v2 })).toMatchObject({
      limit: 1073741824,
      source: 'cgroup-v2',
    });
    expect(resolveMemoryBudget({ env: {}, cgroupV2Path: v2max, cgroupV1Path: v1 })).toMatchObject({
      limit: 536870912,
      budget: Math.floor(536870912 * share),
      source: 'cgroup-v1',
    });
    expect(resolveMemoryBudget({ env: {}, cgroupV2Path: none, cgroupV1Path: v1max })).toBeNull();
    expect(() => resolveMemoryBudget({ configured: 'lots' })).toThrow(/--memory-limit: "lots" is not a size/);
  });
});
