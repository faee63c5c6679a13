import { checkpoint } from '../../lib/ops/checkpoint.js';
import { healthScore, measureHealth, type HealthMeasures } from '../../lib/ops/health.js';
import { optimize } from '../../lib/ops/optimize.js';
import { vacuum } from '../../lib/ops/vacuum.js';
import { openStore } from '../../lib/storage/index.js';
import type { ObjectStore } from '../../lib/storage/object-store.js';
import { startMinio, type MinioServer } from '../harness/minio.js';
import { tempTable } from './helpers.js';
import { appendSmallFiles, DAY, lakehouse, putOrphan, storageArgs } from './health-fixtures.js';

/** The same life cycle on any store: measures follow each maintenance step. */
async function healthLifeCycle(store: ObjectStore): Promise<void> {
  await appendSmallFiles(store, 3); // versions 0..2, 6 small files in 2 partitions
  let h = await measureHealth(store);
  expect(h).toMatchObject({
    version: 2,
    numFiles: 6,
    smallFiles: 6,
    smallFileRatio: 1,
    compactableSmallFiles: 6,
    lastCheckpointVersion: null,
    commitsSinceCheckpoint: 3,
    checkpointInterval: 10,
    removedFilesInRetention: 0,
    orphanFiles: 0,
    orphanBytes: 0,
    lastOptimize: null,
    lastVacuum: null,
    lastCheckpoint: null,
    commitsExamined: 3,
  });
  expect(h.openLatestMs).toBeGreaterThan(0);
  expect(h.deductions.find((d) => d.measure === 'smallFiles')?.points).toBe(40);
  expect(h.score).toBeLessThanOrEqual(60);
  const bytesBefore = h.sizeInBytes;

  await optimize(store); // version 3: 6 files -> 2
  const orphan = await putOrphan(store, 1234);
  h = await measureHealth(store);
  expect(h).toMatchObject({ version: 3, numFiles: 2, smallFiles: 2, removedFilesInRetention: 6 });
  // One small file per partition is all compaction can leave: nothing to merge, no deduction.
  expect(h.compactableSmallFiles).toBe(0);
  expect(h.deductions.find((d) => d.measure === 'smallFiles')).toBeUndefined();
  expect(h.removedBytesInRetention).toBe(bytesBefore);
  expect(h.orphanFiles).toBe(1); // the removed files are retained, not orphans
  expect(h.orphanBytes).toBe(1234);
  expect(h.reclaimableFiles).toBe(0); // the orphan is younger than the window
  expect(h.lastOptimize?.version).toBe(3);
  expect(h.lastOptimize!.ageHours).toBeLessThan(1);

  // Eight days later the removed files are outside the window: reclaimable, and scored.
  const later = Date.now() + 8 * DAY;
  h = await measureHealth(store, { now: later });
  expect(h.removedFilesInRetention).toBe(0);
  expect(h.orphanFiles).toBe(7);
  expect(h.reclaimableFiles).toBe(7);
  expect(h.reclaimableBytes).toBe(bytesBefore + 1234);
  expect(h.deductions.map((d) => d.measure)).toContain('orphans');
  expect(h.lastOptimize!.ageHours).toBeGreaterThan(191);

  await vacuum(store, { now: later }); // versions 4, 5
  await checkpoint(store);
  h = await measureHealth(store, { now: later });
  expect(h).toMatchObject({
    version: 5,
    orphanFiles: 0,
    reclaimableBytes: 0,
    lastCheckpointVersion: 5,
    commitsSinceCheckpoint: 0,
  });
  expect(h.lastVacuum?.version).toBe(5);
  expect(h.lastCheckpoint?.version).toBe(5);
  await expect(store.head(orphan)).rejects.toMatchObject({ code: 'NOT_FOUND' });
}

const base: HealthMeasures = {
  version: 0,
  numFiles: 10,
  sizeInBytes: 1000,
  smallFileThreshold: 100,
  smallFiles: 0,
  smallFileRatio: 0,
  compactableSmallFiles: 0,
  lastCheckpointVersion: null,
  commitsSinceCheckpoint: 1,
  checkpointInterval: 10,
  openLatestMs: 0,
  retentionHours: 168,
  removedFilesInRetention: 5,
  removedBytesInRetention: 5000,
  orphanFiles: 0,
  orphanBytes: 0,
  reclaimableFiles: 0,
  reclaimableBytes: 0,
  lastOptimize: null,
  lastVacuum: null,
  lastCheckpoint: null,
  commitsExamined: 1,
};

describe('health score rule', () => {
  test('a table with nothing to do scores 100; retained removed files cost nothing', () => {
    expect(healthScore(base)).toEqual({ score: 100, deductions: [] });
  });
  test('each rule, at its cap and in between', () => {
    expect(healthScore({ ...base, smallFiles: 5, smallFileRatio: 0.5, compactableSmallFiles: 5 }).score).toBe(
      80,
    );
    expect(healthScore({ ...base, smallFiles: 1, smallFileRatio: 0.1 }).score).toBe(100); // one small file: nothing to merge
    // Five small files, each alone in its partition (a compacted table): nothing to merge either.
    expect(healthScore({ ...base, smallFiles: 5, smallFileRatio: 0.5, compactableSmallFiles: 0 }).score).toBe(
      100,
    );
    // Two of them share a partition: only those two count.
    expect(healthScore({ ...base, smallFiles: 5, smallFileRatio: 0.5, compactableSmallFiles: 2 }).score).toBe(
      92,
    );
    expect(healthScore({ ...base, commitsSinceCheckpoint: 13 }).score).toBe(94);
    expect(healthScore({ ...base, commitsSinceCheckpoint: 500 }).score).toBe(80);
    expect(healthScore({ ...base, openLatestMs: 5000 }).score).toBe(93); // 7.5 points
    expect(healthScore({ ...base, openLatestMs: 60_000 }).score).toBe(85);
    expect(healthScore({ ...base, reclaimableFiles: 3, reclaimableBytes: 1000 }).score).toBe(88); // 12.5
    expect(
      healthScore({
        ...base,
        orphanFiles: 3,
        orphanBytes: 1000,
        reclaimableFiles: null,
        reclaimableBytes: null,
      }).score,
    ).toBe(100);
    const worst = healthScore({
      ...base,
      smallFiles: 10,
      smallFileRatio: 1,
      compactableSmallFiles: 10,
      commitsSinceCheckpoint: 1000,
      openLatestMs: 1e6,
      reclaimableFiles: 1,
      reclaimableBytes: 1e12,
    });
    expect(worst.score).toBe(0);
    expect(worst.deductions.map((d) => d.measure)).toEqual([
      'smallFiles',
      'checkpoint',
      'openTime',
      'orphans',
    ]);
  });
});

describe('health on local disk', () => {
  test('life cycle: small files, optimize, orphans, vacuum, checkpoint', async () => {
    await healthLifeCycle(tempTable('health').store);
  });

  test('CLI: text and json', async () => {
    const { dir, store } = tempTable('health-cli');
    await appendSmallFiles(store, 2);
    await putOrphan(store, 500);
    const json = lakehouse(['health', dir, '--format', 'json']);
    expect(json.code).toBe(0);
    const h = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(h).toMatchObject({ version: 1, numFiles: 4, smallFiles: 4, orphanFiles: 1, orphanBytes: 500 });
    expect(typeof h.score).toBe('number');
    const text = lakehouse(['health', dir, '--no-list']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/score +\d+\/100/);
    expect(text.stdout).toMatch(/small files +4 below 96\.0 MiB \(100\.0%\)/);
    expect(text.stdout).toMatch(/orphans +unknown \(not listed\)/);
    expect(text.stdout).toMatch(/last optimize +never \(in the last 2 commits\)/);
  });
});

describe('health on S3 (MinIO)', () => {
  let minio: MinioServer;
  beforeAll(async () => {
    minio = await startMinio();
  });
  afterAll(async () => {
    await minio?.stop();
  });

  test('life cycle: small files, optimize, orphans, vacuum, checkpoint', async () => {
    const store = await openStore(minio.uri(), minio.storageOptions);
    try {
      await healthLifeCycle(store);
    } finally {
      await store.close?.();
    }
  });

  test('CLI with --storage-option', async () => {
    const uri = minio.uri();
    const store = await openStore(uri, minio.storageOptions);
    await appendSmallFiles(store, 2);
    await store.close?.();
    const r = lakehouse(['health', uri, '--format', 'json', ...storageArgs(minio.storageOptions)]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ version: 1, numFiles: 4, orphanFiles: 0 });
  });
});
