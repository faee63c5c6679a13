/**
 * Vacuum retention through the operator, against a real kube-apiserver with the table on local
 * disk: a LakeTable's vacuum policy runs on its schedule, deletes the files removed from the table
 * longer ago than the retention and keeps those removed inside it; `status.lastVacuum` carries the
 * figures and a `Vacuumed` Event is recorded. The retention is 20 s, which the spec allows only
 * with `unsafeAllowShortRetention` (as the lib/reconcile tests do), so the test runs in about a
 * minute.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { deltaSchemaToArrow } from '../../lib/delta/arrow-schema.js';
import { history } from '../../lib/delta/history.js';
import { Snapshot } from '../../lib/delta/snapshot.js';
import { batchFromRows } from '../../lib/data/arrow-build.js';
import { optimize } from '../../lib/ops/optimize.js';
import { writeTable } from '../../lib/ops/write.js';
import { localStorageRoots } from '../../lib/spec/index.js';
import { LocalObjectStore } from '../../lib/storage/index.js';
import { startOperator, type RunningOperator } from '../../operator/src/operator.js';
import type { KubeApiServer } from '../harness/kube.js';
import {
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
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lk-operator-vacuum-'));
  operator = await startOperator({
    kubeConfig: kc,
    storageRoots: localStorageRoots(path.join(tmp, 'data')),
    port: null,
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

const RETENTION_MS = 20_000;
const tableDir = (name: string): string => path.join(tmp, 'data', 'curated', 't', name);

/** Two small files in each day, then compact `day` (its two files become tombstones now). */
async function writeDays(store: LocalObjectStore, days: string[]): Promise<void> {
  const schema = deltaSchemaToArrow((await Snapshot.load(store)).schema);
  for (const day of days)
    for (let i = 0; i < 2; i++)
      await writeTable(
        store,
        batchFromRows(schema, [
          { id: i, day, amount: '1.00' },
          { id: i + 10, day, amount: '2.50' },
        ]),
      );
}

async function removeFilesOf(store: LocalObjectStore, day: string): Promise<string[]> {
  const before = new Set([...(await Snapshot.load(store)).activeFilesIterator()].map((a) => a.path));
  const m = await optimize(store, { where: `day = '${day}'` });
  expect(m.numFilesRemoved).toBe(2);
  const after = new Set([...(await Snapshot.load(store)).activeFilesIterator()].map((a) => a.path));
  return [...before].filter((p) => !after.has(p));
}

const exists = (file: string): Promise<boolean> =>
  fs.stat(file).then(
    () => true,
    () => false,
  );

test('vacuum deletes files removed before the retention window and keeps those removed inside it', async () => {
  await createTable(
    api,
    lakeTable('swept', {
      properties: { 'delta.deletedFileRetentionDuration': 'interval 20 seconds' },
      maintenance: {
        // Suspended while the test prepares files removed at two known times.
        suspend: true,
        compaction: { enabled: false },
        checkpoint: { enabled: false },
        vacuum: { schedule: '* * * * *', retention: '20s', unsafeAllowShortRetention: true },
      },
    }),
  );
  await waitReady(api, 'swept');
  const createdAt = Date.now();
  const store = new LocalObjectStore(tableDir('swept'));
  await writeDays(store, ['2026-11-01', '2026-11-02']);
  const old = await removeFilesOf(store, '2026-11-01');
  const oldRemovedAt = Date.now();

  // The schedule fires at the first minute boundary after the table was created; the old files'
  // removal must be older than the retention by then.
  const nextMinute = Math.ceil((createdAt + 1000) / 60_000) * 60_000;
  const readyAt = Math.max(nextMinute + 1000, oldRemovedAt + RETENTION_MS + 3000);
  await new Promise((r) => setTimeout(r, readyAt - Date.now()));
  const young = await removeFilesOf(store, '2026-11-02');
  for (const f of [...old, ...young]) expect(await exists(path.join(tableDir('swept'), f))).toBe(true);

  await updateSpec(api, 'swept', (spec) => {
    spec.maintenance.suspend = false;
  });
  const t = await waitFor(
    'a vacuum in the status',
    async () => {
      const x = await getTable(api, 'swept');
      return x?.status?.lastVacuum?.result === 'Succeeded' ? x : undefined;
    },
    RETENTION_MS,
  );
  // Removed 20 s + before: deleted. Removed just now, inside the retention: kept.
  for (const f of old) expect(await exists(path.join(tableDir('swept'), f))).toBe(false);
  for (const f of young) expect(await exists(path.join(tableDir('swept'), f))).toBe(true);
  const last = t.status!.lastVacuum!;
  expect(last.filesRemoved).toBe(2);
  expect(last.bytesRemoved).toBeGreaterThan(0);
  expect(last.message).toMatch(
    /deleted 2 unreferenced files \(retention 0\.00\d+h\); kept 2 still read inside the retention, younger than it, or of writes in flight/,
  );
  expect(Date.parse(last.completionTime!)).toBeGreaterThanOrEqual(Date.parse(last.startTime!));
  const vacuumed = (await eventsOf(core, 'swept')).filter((e) => e.reason === 'Vacuumed');
  expect(vacuumed.length).toBeGreaterThanOrEqual(1);
  expect(vacuumed[0]!.message).toMatch(/deleted 2 unreferenced files/);
  const operations: string[] = [];
  for await (const entry of history(store, { limit: 5 }))
    operations.push(String(entry.commitInfo?.operation));
  expect(operations).toEqual(expect.arrayContaining(['VACUUM START', 'VACUUM END']));
}, 180_000);
