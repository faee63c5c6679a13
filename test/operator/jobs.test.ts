/**
 * Scale-out compaction as Kubernetes Jobs, against a real kube-apiserver with tables on local
 * disk. Compactions above the threshold become one Job per partition range; the test stands in
 * for the kubelet and the Job controller (jobs-kubelet.ts): it runs each Job's real command, the
 * `lakehouse optimize` of this clone, against the real table and writes the Job's status. Asserted:
 * Jobs only above the threshold, one per range, the Job spec's hardening, the table compacted by
 * the commands, the run's results in the status (read back from the table history), Events, no
 * duplicate Jobs after an operator restart, and a failing Job reported.
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
import { JOB_LABEL } from '../../operator/src/jobs.js';
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
import { listJobs, runJobAsKubelet } from './jobs-kubelet.js';

let kube: KubeApiServer;
let kc: KubeConfig;
let api: CustomObjectsApi;
let core: CoreV1Api;
let tmp: string;
let operator: RunningOperator;

/** Files here are ~780 bytes: 4 of them (3 KB) stay in-process, 8 or 12 go to Jobs. */
const THRESHOLD = 5000;
const IMAGE = 'ghcr.io/lakehouse-kit/lakehouse-operator:test';

function start(): Promise<RunningOperator> {
  return startOperator({
    kubeConfig: kc,
    storageRoots: localStorageRoots(path.join(tmp, 'data')),
    port: null,
    resyncMs: 2000,
    dueRequeueMs: 1000,
    baseDelayMs: 200,
    log: process.env.JOBS_TEST_LOG
      ? pino({ level: 'debug' }, pino.destination(process.env.JOBS_TEST_LOG))
      : pino({ level: 'silent' }),
    // rangeBytes 1: every partition is a range of its own.
    jobs: {
      image: IMAGE,
      thresholdBytes: THRESHOLD,
      rangeBytes: 1,
      serviceAccountName: 'lakehouse-maintenance',
    },
  });
}

beforeAll(async () => {
  kube = await startWithCrd();
  kc = kube.kubeConfig();
  api = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lk-operator-jobs-'));
  operator = await start();
}, 240_000);

afterAll(async () => {
  await operator?.stop();
  await kube?.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

const tableDir = (name: string): string => path.join(tmp, 'data', 'curated', 't', name);

async function append(name: string, days: string[], perDay: number): Promise<void> {
  const store = new LocalObjectStore(tableDir(name));
  const schema = deltaSchemaToArrow((await Snapshot.load(store)).schema);
  for (const day of days)
    for (let i = 0; i < perDay; i++)
      await writeTable(
        store,
        batchFromRows(
          schema,
          Array.from({ length: 5 }, (_, k) => ({ id: i * 5 + k, day, amount: `${k}.25` })),
        ),
      );
}

/** A suspended LakeTable with small files written, then maintenance let go. */
async function preparedTable(name: string, days: string[], perDay: number): Promise<string> {
  await createTable(
    api,
    lakeTable(name, {
      maintenance: {
        suspend: true,
        compaction: { triggers: { smallFileCount: 4 } },
        checkpoint: { enabled: false },
        vacuum: { enabled: false },
      },
    }),
  );
  const t = await waitReady(api, name);
  await append(name, days, perDay);
  await updateSpec(api, name, (spec) => {
    spec.maintenance.suspend = false;
  });
  return t.metadata.uid!;
}

async function activeFiles(name: string): Promise<Map<string, number>> {
  const per = new Map<string, number>();
  for (const a of (await Snapshot.load(new LocalObjectStore(tableDir(name)))).activeFilesIterator()) {
    const day = String(a.partitionValues.day);
    per.set(day, (per.get(day) ?? 0) + 1);
  }
  return per;
}

const DAYS = ['2026-11-01', '2026-11-02', '2026-11-03'];

test('a compaction below the threshold runs in the operator, with no Job', async () => {
  const uid = await preparedTable('modest', ['2026-11-01'], 4);
  const t = await waitFor('the in-process compaction', async () => {
    const x = await getTable(api, 'modest');
    return x?.status?.lastCompaction?.result === 'Succeeded' ? x : undefined;
  });
  expect(t.status!.lastCompaction).toMatchObject({ filesRemoved: 4, filesAdded: 1 });
  expect(t.status!.lastCompaction!.jobs).toBeUndefined();
  expect(await listJobs(kube, `${JOB_LABEL.tableUid}=${uid}`)).toHaveLength(0);
});

test('above the threshold: one hardened Job per partition range, adopted after a restart, results in the status', async () => {
  const uid = await preparedTable('wide', DAYS, 4);
  const selector = `${JOB_LABEL.tableUid}=${uid}`;
  const jobs = await waitFor('three Jobs', async () => {
    const j = await listJobs(kube, selector);
    return j.length === 3 ? j : undefined;
  });
  const running = await waitFor('lastCompaction Running', async () => {
    const x = await getTable(api, 'wide');
    return x?.status?.lastCompaction?.result === 'Running' ? x : undefined;
  });
  expect(running.status!.lastCompaction!.jobs).toBe(3);

  // One Job per partition, each selecting exactly its partition; hardened like the Deployment.
  expect(jobs.map((j) => j.metadata.annotations!['lakehouse.dev/partition-range'])).toEqual(
    DAYS.map((d) => `day=${d}`),
  );
  const runId = jobs[0]!.metadata.labels![JOB_LABEL.run];
  for (const [i, job] of jobs.entries()) {
    expect(job.metadata.name).toBe(`wide-compact-${runId}-${i}`);
    expect(job.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'lakehouse-operator',
      'app.kubernetes.io/component': 'compaction',
      'lakehouse.dev/table': 'wide',
      [JOB_LABEL.tableUid]: uid,
      [JOB_LABEL.range]: String(i),
    });
    expect(job.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'LakeTable', name: 'wide', uid, controller: true }),
    ]);
    expect(job.spec).toMatchObject({
      backoffLimit: 2,
      activeDeadlineSeconds: 21600,
      ttlSecondsAfterFinished: 86400,
    });
    const pod = job.spec.template.spec;
    expect(pod).toMatchObject({
      restartPolicy: 'Never',
      serviceAccountName: 'lakehouse-maintenance',
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
    });
    const c = pod.containers[0];
    expect(c.image).toBe(IMAGE);
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.resources).toEqual({
      requests: { cpu: '500m', memory: '1Gi' },
      limits: { cpu: '2', memory: '2Gi' },
    });
    expect(c.command).toEqual(['/nodejs/bin/node', 'bin/lakehouse.js']);
    expect(c.args).toEqual([
      'optimize',
      `file://${tableDir('wide')}`,
      '--where',
      `day = '${DAYS[i]}'`,
      '--target-size',
      String(128 * 2 ** 20),
      '--min-file-size',
      String(96 * 2 ** 20),
      '--commit-every',
      '10',
      '--memory-limit',
      String(Math.floor(2 * 2 ** 30 * 0.8)),
      '--format',
      'json',
    ]);
    expect(c.terminationMessagePolicy).toBe('FallbackToLogsOnError');
  }
  const started = (await eventsOf(core, 'wide')).filter((e) => e.reason === 'CompactionJobStarted');
  expect(started.map((e) => e.message).sort()).toEqual(
    jobs.map((j, i) => expect.stringContaining(`Job ${j.metadata.name}: partitions day=${DAYS[i]}`)),
  );

  // A restarted operator adopts the unfinished Jobs: compaction stays due, no new Job appears.
  await operator.stop();
  operator = await start();
  const controller = operator.controller()!;
  await waitFor('passes of the new operator over the table', () => controller.reconcileCount >= 3, 30_000);
  expect((await listJobs(kube, selector)).map((j) => j.metadata.name)).toEqual(
    jobs.map((j) => j.metadata.name),
  );

  // The test's kubelet runs each Job's command; the table is compacted by them.
  for (const job of jobs) {
    const r = await runJobAsKubelet(kube, 'default', job.metadata.name);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(r.stdout)).toMatchObject({ numFilesRemoved: 4, numFilesAdded: 1 });
  }
  expect(Object.fromEntries(await activeFiles('wide'))).toEqual(Object.fromEntries(DAYS.map((d) => [d, 1])));

  const t = await waitFor('lastCompaction Succeeded', async () => {
    const x = await getTable(api, 'wide');
    return x?.status?.lastCompaction?.result === 'Succeeded' ? x : undefined;
  });
  const last = t.status!.lastCompaction!;
  expect(last).toMatchObject({ jobs: 3, filesRemoved: 12, filesAdded: 3 });
  expect(last.bytesRemoved).toBeGreaterThan(0);
  expect(last.bytesAdded).toBeGreaterThan(0);
  for (const [i, job] of jobs.entries())
    expect(last.message).toContain(`${job.metadata.name} [day=${DAYS[i]}] Succeeded, 4 files`);
  expect(condition(t, 'MaintenanceHealthy')).toMatchObject({ status: 'True' });
  const succeeded = (await eventsOf(core, 'wide')).filter((e) => e.reason === 'CompactionJobSucceeded');
  expect(succeeded).toHaveLength(3);
  // Nothing left to merge: no further Job.
  await new Promise((r) => setTimeout(r, 3000));
  expect(await listJobs(kube, selector)).toHaveLength(3);

  // A later, smaller compaction runs in the operator; its result replaces the Job run's and stays.
  await append('wide', [DAYS[0]!], 4);
  const later = await waitFor('the in-process compaction in the status', async () => {
    const x = await getTable(api, 'wide');
    return x?.status?.lastCompaction?.result === 'Succeeded' && x.status.lastCompaction.jobs === undefined
      ? x
      : undefined;
  });
  expect(later.status!.lastCompaction).toMatchObject({ filesRemoved: 5, filesAdded: 1 });
  await new Promise((r) => setTimeout(r, 3000));
  expect((await getTable(api, 'wide'))!.status!.lastCompaction).toEqual(later.status!.lastCompaction);
  expect(await listJobs(kube, selector)).toHaveLength(3);
}, 240_000);

test('a failing Job sets MaintenanceHealthy=False with its name; the other Job still compacts its range', async () => {
  const uid = await preparedTable('fragile', DAYS.slice(0, 2), 4);
  const jobs = await waitFor('two Jobs', async () => {
    const j = await listJobs(kube, `${JOB_LABEL.tableUid}=${uid}`);
    return j.length === 2 ? j : undefined;
  });
  // A data file of the first day's partition is lost: that Job's OPTIMIZE cannot read it.
  const snap = await Snapshot.load(new LocalObjectStore(tableDir('fragile')));
  const lost = [...snap.activeFilesIterator()].find((a) => a.partitionValues.day === DAYS[0])!;
  await fs.rm(path.join(tableDir('fragile'), lost.path));

  const bad = await runJobAsKubelet(kube, 'default', jobs[0]!.metadata.name);
  expect(bad.code).not.toBe(0);
  const good = await runJobAsKubelet(kube, 'default', jobs[1]!.metadata.name);
  expect(good.code).toBe(0);

  const t = await waitFor('lastCompaction Failed', async () => {
    const x = await getTable(api, 'fragile');
    return x?.status?.lastCompaction?.result === 'Failed' ? x : undefined;
  });
  expect(t.status!.lastCompaction).toMatchObject({ jobs: 2, filesRemoved: 4, filesAdded: 1 });
  const healthy = condition(t, 'MaintenanceHealthy')!;
  expect(healthy).toMatchObject({ status: 'False', reason: 'CompactionJobFailed' });
  expect(healthy.message).toContain(
    `${jobs[0]!.metadata.name} [day=${DAYS[0]}] Failed (BackoffLimitExceeded`,
  );
  expect(healthy.message).not.toContain(jobs[1]!.metadata.name);
  const failedEvents = (await eventsOf(core, 'fragile')).filter((e) => e.reason === 'CompactionJobFailed');
  expect(failedEvents).toHaveLength(1);
  expect(failedEvents[0]!.type).toBe('Warning');
  expect(failedEvents[0]!.message).toContain(jobs[0]!.metadata.name);
  // The failed run holds off a new one (retryAfterFailureMs): compaction is still due, no new Job.
  await new Promise((r) => setTimeout(r, 3000));
  expect(await listJobs(kube, `${JOB_LABEL.tableUid}=${uid}`)).toHaveLength(2);
}, 180_000);
