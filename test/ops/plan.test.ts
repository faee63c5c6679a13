import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { optimize } from '../../lib/ops/optimize.js';
import { planMaintenance, writeRequests } from '../../lib/ops/plan.js';
import { cloudOf, DEFAULT_PRICES, resolvePrices } from '../../lib/ops/pricing.js';
import { vacuum } from '../../lib/ops/vacuum.js';
import { openStore } from '../../lib/storage/index.js';
import type { ObjectStore } from '../../lib/storage/object-store.js';
import { startMinio, type MinioServer } from '../harness/minio.js';
import { tempTable } from './helpers.js';
import { appendSmallFiles, DAY, lakehouse, putOrphan, storageArgs } from './health-fixtures.js';

/** Plans follow the table through small files, optimize and an expired window; vacuum agrees. */
async function planLifeCycle(store: ObjectStore): Promise<void> {
  await appendSmallFiles(store, 3); // versions 0..2: 3 small files in each of 2 partitions
  let p = await planMaintenance(store, { cloud: 'aws' });
  expect(p.optimize).toMatchObject({ filesToRewrite: 6, filesToWrite: 2 });
  expect(p.optimize.plan.partitions.map((x) => [x.partition, x.action, x.filesIn])).toEqual([
    ['day=d0', 'compact', 3],
    ['day=d1', 'compact', 3],
  ]);
  expect(p.optimize.requests).toEqual({ read: 12, write: 3, list: 0, delete: 0 }); // 2 files + 1 commit
  expect(p.optimize.cost).toBeCloseTo((12 * 0.0004 + 3 * 0.005) / 1000, 12);
  expect(p.vacuum).toMatchObject({ filesToDelete: 0, timeTravelLost: null, filesListed: 9 }); // 6 data files, 3 commits;
  expect(p.vacuum.requests).toEqual({ read: 0, write: 0, list: 1, delete: 0 });
  expect(p.checkpoint).toMatchObject({ due: false, commitsSinceCheckpoint: 3, interval: 10, cost: 0 });
  const bytesBefore = p.optimize.bytesToRewrite;

  await optimize(store); // version 3
  const orphan = await putOrphan(store, 1000);
  p = await planMaintenance(store, { cloud: 'aws' });
  expect(p.optimize.filesToRewrite).toBe(0); // compacted: nothing to do
  expect(p.vacuum).toMatchObject({ filesToDelete: 0, filesKeptForTimeTravel: 6, filesKeptTooYoung: 1 });

  const later = Date.now() + 8 * DAY;
  p = await planMaintenance(store, { cloud: 'aws', now: later });
  expect(p.vacuum).toMatchObject({ filesToDelete: 7, bytesToDelete: bytesBefore + 1000 });
  expect(p.vacuum.partitions.map((x) => [x.partition, x.files])).toEqual([
    ['day=d0', 4],
    ['day=d1', 3],
  ]);
  expect(p.vacuum.timeTravelLost).toEqual({ from: 0, to: 2 }); // versions before the OPTIMIZE
  expect(p.vacuum.requests).toEqual({ read: 0, write: 2, list: 1, delete: 1 });
  expect(p.vacuum.monthlyStorageSaving).toBeCloseTo(((bytesBefore + 1000) / 1024 ** 3) * 0.023, 12);
  expect(p.totalCost).toBeCloseTo(p.optimize.cost + p.vacuum.cost + p.checkpoint.cost, 12);

  // What the plan says is what vacuum does.
  const dry = await vacuum(store, { now: later, dryRun: true });
  expect(dry.filesDeleted).toBe(p.vacuum.filesToDelete);
  expect(dry.bytesDeleted).toBe(p.vacuum.bytesToDelete);
  expect(dry.deletedPaths).toContain(orphan);
  const done = await vacuum(store, { now: later });
  expect(done.filesDeleted).toBe(7);
  p = await planMaintenance(store, { cloud: 'aws', now: later });
  expect(p.vacuum.filesToDelete).toBe(0);
}

describe('prices', () => {
  test('cloud from the URI; overrides merged and checked', () => {
    expect(
      ['s3://b/t', 'abfss://c@a.dfs.core.windows.net/t', 'az://c/t', 'gs://b/t', '/tmp/t'].map(cloudOf),
    ).toEqual(['aws', 'azure', 'azure', 'gcp', 'local']);
    const p = resolvePrices({ gcp: { writePer1000: 0.01 } });
    expect(p.gcp).toEqual({ ...DEFAULT_PRICES.gcp, writePer1000: 0.01 });
    expect(p.aws).toEqual(DEFAULT_PRICES.aws);
    expect(() => resolvePrices({ aws: { readPer1000: -1 } })).toThrow(
      /aws\.readPer1000 must be a non-negative number/,
    );
    expect(() => resolvePrices({ aws: { putPrice: 1 } as never })).toThrow(/aws\.putPrice is not a price/);
    expect(() => resolvePrices({ ibm: {} } as never)).toThrow(/unknown cloud "ibm"/);
  });
  test('write requests: one PUT up to 8 MiB, then parts plus create and complete', () => {
    expect(writeRequests(1000)).toBe(1);
    expect(writeRequests(8 * 1024 * 1024)).toBe(1);
    expect(writeRequests(128 * 1024 * 1024)).toBe(18);
  });
});

describe('plan on local disk', () => {
  test('life cycle: optimize, vacuum per partition, time travel lost, costs; vacuum agrees', async () => {
    await planLifeCycle(tempTable('plan').store);
  });

  test('CLI: text, json with --prices, and a folder of LakeTables', async () => {
    const { dir, store } = tempTable('plan-cli');
    await appendSmallFiles(store, 2);
    const text = lakehouse(['plan', dir]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/optimize: rewrite 4 file\(s\), .* -> 2 file\(s\); requests 8 read, 3 write/);
    expect(text.stdout).toMatch(/day=d0 +compact +2/);
    expect(text.stdout).toMatch(/vacuum \(retention 168 h\): delete 0 file\(s\)/);
    expect(text.stdout).toMatch(/checkpoint: not due \(2 commit\(s\) since the last, interval 10\)/);

    const prices = path.join(mkdtempSync(path.join(os.tmpdir(), 'lk-prices-')), 'p.json');
    writeFileSync(prices, JSON.stringify({ aws: { readPer1000: 1, writePer1000: 10, currency: 'EUR' } }));
    const json = lakehouse(['plan', dir, '--cloud', 'aws', '--prices', prices, '--format', 'json']);
    expect(json.code).toBe(0);
    const p = JSON.parse(json.stdout);
    expect(p).toMatchObject({ cloud: 'aws', currency: 'EUR', optimize: { requests: { read: 8, write: 3 } } });
    expect(p.optimize.cost).toBeCloseTo((8 * 1 + 3 * 10) / 1000, 12);

    const bad = lakehouse(['plan', dir, '--prices', path.join(dir, 'nope.json')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--prices: cannot read/);

    // A folder of LakeTable definitions: each table planned with its own settings.
    const specs = mkdtempSync(path.join(os.tmpdir(), 'lk-specs-'));
    const table = (name: string, location: string, target: string): string =>
      [
        'apiVersion: lakehouse.dev/v1alpha1',
        'kind: LakeTable',
        `metadata: { name: ${name} }`,
        'spec:',
        `  location: ${location}`,
        '  schema: { columns: [{ name: id, type: long }, { name: day, type: string }, { name: name, type: string }] }',
        '  partitionBy: [day]',
        `  maintenance: { compaction: { targetFileSize: ${target} } }`,
      ].join('\n');
    writeFileSync(path.join(specs, 'a.yaml'), table('events', dir, '"1Ki"'));
    writeFileSync(path.join(specs, 'b.yaml'), table('later', path.join(specs, 'not-yet'), '"128Mi"'));
    const folder = lakehouse(['plan', specs, '--format', 'json']);
    expect(folder.stderr).toBe('');
    const plans = JSON.parse(folder.stdout);
    expect(plans).toHaveLength(2);
    expect(plans[0].optimize.plan.targetFileSize).toBe(1024);
    expect(plans[1]).toMatchObject({ name: 'later', missing: expect.stringMatching(/not created/) });
  });
});

describe('plan on S3 (MinIO)', () => {
  let minio: MinioServer;
  beforeAll(async () => {
    minio = await startMinio();
  });
  afterAll(async () => {
    await minio?.stop();
  });

  test('life cycle: optimize, vacuum per partition, time travel lost, costs; vacuum agrees', async () => {
    const store = await openStore(minio.uri(), minio.storageOptions);
    try {
      await planLifeCycle(store);
    } finally {
      await store.close?.();
    }
  });

  test('CLI prices an s3:// table as aws', async () => {
    const uri = minio.uri();
    const store = await openStore(uri, minio.storageOptions);
    await appendSmallFiles(store, 2);
    await store.close?.();
    const r = lakehouse(['plan', uri, '--format', 'json', ...storageArgs(minio.storageOptions)]);
    expect(r.stderr).toBe('');
    const p = JSON.parse(r.stdout);
    expect(p).toMatchObject({ cloud: 'aws', prices: DEFAULT_PRICES.aws, optimize: { filesToRewrite: 4 } });
    expect(p.totalCost).toBeGreaterThan(0);
  });
});
