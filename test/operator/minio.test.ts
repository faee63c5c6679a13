/**
 * LakeTables on S3 (the test MinIO) through the operator, against a real kube-apiserver: the
 * zone root is an s3:// URI, the operator's configuration holds only the non-secret options
 * (endpoint, region, plain HTTP allowed) and the keys come from the Secret the LakeTable names in
 * `spec.storageSecretRef`. The table is created in MinIO and reaches Ready; small appends are
 * compacted by the operator itself and, above the Job threshold, by a Kubernetes Job whose
 * command the test runs as the kubelet would (jobs-kubelet.ts), with the Secret reaching it by
 * `envFrom`. The secret key never appears in the operator's logs, the status, Events or Job specs.
 */
import { PassThrough } from 'node:stream';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { deltaSchemaToArrow } from '../../lib/delta/arrow-schema.js';
import { Snapshot } from '../../lib/delta/snapshot.js';
import { batchFromRows } from '../../lib/data/arrow-build.js';
import { writeTable } from '../../lib/ops/write.js';
import { openStore, type ObjectStore } from '../../lib/storage/index.js';
import { JOB_LABEL } from '../../operator/src/jobs.js';
import { startOperator, type RunningOperator } from '../../operator/src/operator.js';
import type { KubeApiServer } from '../harness/kube.js';
import { startMinio, type MinioServer } from '../harness/minio.js';
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
let minio: MinioServer;
let operator: RunningOperator;
let root: string;
let logs = '';

/** ~780-byte files: 4 stay under it (in-process), 8 in two partitions exceed it (Jobs). */
const THRESHOLD = 5000;

beforeAll(async () => {
  [kube, minio] = await Promise.all([startWithCrd(), startMinio()]);
  kc = kube.kubeConfig();
  api = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  root = minio.uri('operator');
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => (logs += d.toString()));
  operator = await startOperator({
    kubeConfig: kc,
    storageRoots: { default: { curated: root } },
    // What the operator's ConfigMap may hold: no keys.
    storageOptions: { AWS_ENDPOINT_URL: minio.endpoint, AWS_REGION: minio.region, AWS_ALLOW_HTTP: 'true' },
    port: null,
    resyncMs: 2000,
    dueRequeueMs: 1000,
    baseDelayMs: 200,
    log: pino({ level: 'debug' }, sink),
    jobs: {
      image: 'ghcr.io/lakehouse-kit/lakehouse-operator:test',
      thresholdBytes: THRESHOLD,
      rangeBytes: 1,
    },
  });
  await core.createNamespacedSecret({
    namespace: 'default',
    body: {
      metadata: { name: 'minio-keys' },
      stringData: { AWS_ACCESS_KEY_ID: minio.accessKeyId, AWS_SECRET_ACCESS_KEY: minio.secretAccessKey },
    },
  });
}, 240_000);

afterAll(async () => {
  await operator?.stop();
  await Promise.all([kube?.stop(), minio?.stop()]);
});

const tableUri = (name: string): string => `${root}/t/${name}`;
const store = (name: string): Promise<ObjectStore> => openStore(tableUri(name), minio.storageOptions);

async function append(name: string, days: string[], perDay: number): Promise<void> {
  const s = await store(name);
  const schema = deltaSchemaToArrow((await Snapshot.load(s)).schema);
  for (const day of days)
    for (let i = 0; i < perDay; i++)
      await writeTable(
        s,
        batchFromRows(
          schema,
          Array.from({ length: 5 }, (_, k) => ({ id: i * 5 + k, day, amount: `${k}.50` })),
        ),
      );
}

function s3Table(name: string, suspend: boolean) {
  return lakeTable(name, {
    storageSecretRef: { name: 'minio-keys' },
    maintenance: {
      suspend,
      compaction: { triggers: { smallFileCount: 4 } },
      checkpoint: { enabled: false },
      vacuum: { enabled: false },
    },
  });
}

test('a LakeTable on MinIO with keys from its Secret reaches Ready and is compacted in place', async () => {
  await createTable(api, s3Table('orders-s3', false));
  const t = await waitReady(api, 'orders-s3');
  expect(t.status).toMatchObject({ location: tableUri('orders-s3'), version: 0, files: 0 });
  expect((await Snapshot.load(await store('orders-s3'))).schema.fields.map((f) => f.name)).toEqual([
    'id',
    'day',
    'amount',
  ]);

  await append('orders-s3', ['2026-11-01'], 4);
  const c = await waitFor('a compaction in the status', async () => {
    const x = await getTable(api, 'orders-s3');
    return x?.status?.lastCompaction?.result === 'Succeeded' ? x : undefined;
  });
  expect(c.status!.lastCompaction).toMatchObject({ filesRemoved: 4, filesAdded: 1 });
  expect([...(await Snapshot.load(await store('orders-s3'))).activeFilesIterator()]).toHaveLength(1);
  expect((await eventsOf(core, 'orders-s3')).map((e) => e.reason)).toEqual(
    expect.arrayContaining(['TableCreated', 'Compacted']),
  );
});

test('without the Secret the table is not reachable: StorageCredentials, with the Secret name', async () => {
  await createTable(api, lakeTable('no-keys', { storageSecretRef: { name: 'missing-keys' } }));
  const t = await waitReady(api, 'no-keys', 'False');
  expect(condition(t, 'Ready')).toMatchObject({ reason: 'StorageCredentials' });
  expect(condition(t, 'Ready')!.message).toContain('missing-keys');
});

test('above the threshold the compaction runs as Jobs on MinIO, the Secret reaching them by envFrom', async () => {
  await createTable(api, s3Table('events-s3', true));
  const created = await waitReady(api, 'events-s3');
  await append('events-s3', ['2026-11-01', '2026-11-02'], 4);
  await updateSpec(api, 'events-s3', (spec) => {
    spec.maintenance.suspend = false;
  });
  const jobs = await waitFor('two Jobs', async () => {
    const j = await listJobs(kube, `${JOB_LABEL.tableUid}=${created.metadata.uid}`);
    return j.length === 2 ? j : undefined;
  });
  for (const job of jobs) {
    const c = job.spec.template.spec.containers[0];
    expect(c.envFrom).toEqual([{ secretRef: { name: 'minio-keys' } }]);
    expect(c.args).toEqual(
      expect.arrayContaining([
        `AWS_ENDPOINT_URL=${minio.endpoint}`,
        `AWS_REGION=${minio.region}`,
        'AWS_ALLOW_HTTP=true',
      ]),
    );
    const r = await runJobAsKubelet(kube, 'default', job.metadata.name);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  }
  const t = await waitFor('lastCompaction Succeeded', async () => {
    const x = await getTable(api, 'events-s3');
    return x?.status?.lastCompaction?.result === 'Succeeded' ? x : undefined;
  });
  expect(t.status!.lastCompaction).toMatchObject({ jobs: 2, filesRemoved: 8, filesAdded: 2 });
  expect([...(await Snapshot.load(await store('events-s3'))).activeFilesIterator()]).toHaveLength(2);

  // The secret value appears nowhere the operator writes.
  const jobsText = JSON.stringify(await listJobs(kube, `${JOB_LABEL.tableUid}=${created.metadata.uid}`));
  const statuses = JSON.stringify([t, await getTable(api, 'orders-s3'), await getTable(api, 'no-keys')]);
  const events = JSON.stringify([
    ...(await eventsOf(core, 'orders-s3')),
    ...(await eventsOf(core, 'events-s3')),
    ...(await eventsOf(core, 'no-keys')),
  ]);
  expect(logs).toContain('reconciled');
  for (const text of [logs, statuses, events, jobsText]) expect(text).not.toContain(minio.secretAccessKey);
});
