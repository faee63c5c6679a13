import { Snapshot } from '../../lib/delta/snapshot.js';
import { history } from '../../lib/delta/history.js';
import { classicCheckpointPath, commitPath } from '../../lib/delta/log-path.js';
import { checkpoint } from '../../lib/ops/checkpoint.js';
import { fsck } from '../../lib/ops/fsck.js';
import { scanTable } from '../../lib/ops/scan.js';
import { openStore } from '../../lib/storage/index.js';
import type { ObjectStore } from '../../lib/storage/object-store.js';
import { startMinio, type MinioServer } from '../harness/minio.js';
import { tempTable } from './helpers.js';
import { appendSmallFiles, lakehouse, putOrphan, storageArgs } from './health-fixtures.js';

async function countRows(store: ObjectStore): Promise<number> {
  let n = 0;
  for await (const b of await scanTable(store)) n += b.numRows;
  return n;
}

/** A data file lost from storage: reported with its rows; --repair removes it; nothing is deleted. */
async function missingFileAndRepair(store: ObjectStore): Promise<void> {
  await appendSmallFiles(store, 3, 10); // 30 rows, 6 files of 5 rows
  await checkpoint(store); // at version 2
  const snap = await Snapshot.load(store);
  const lost = snap.activeFiles()[0]!;
  await store.deleteMany([decodeURIComponent(lost.path)]);
  const orphan = await putOrphan(store, 777);

  const r = await fsck(store);
  expect(r).toMatchObject({ version: 2, ok: false, rowsLost: 5, logGaps: [], repair: null, loadError: null });
  expect(r.missingFiles).toEqual([
    { path: lost.path, missing: 'data', size: lost.size, partitionValues: lost.partitionValues, rows: 5 },
  ]);
  expect(r.orphanFiles).toEqual([
    expect.objectContaining({ path: orphan, size: 777, insideRetention: true }),
  ]);
  expect(r.orphanBytes).toBe(777);
  expect(r.checkpoint).toEqual({
    version: 2,
    comparedFrom: -1,
    agrees: true,
    differences: [],
    numDifferences: 0,
  });
  expect((await Snapshot.load(store)).version).toBe(2); // a check changes nothing

  const repaired = await fsck(store, { repair: true });
  expect(repaired.repair).toEqual({ version: 3, filesRemoved: 1, rowsLost: 5 });
  const [entry] = await (async () => {
    const out = [];
    for await (const e of history(store, { limit: 1 })) out.push(e);
    return out;
  })();
  expect(entry!.commitInfo).toMatchObject({
    operation: 'FSCK',
    operationMetrics: { numFilesRemoved: '1', numRowsLost: '5' },
  });
  expect(await countRows(store)).toBe(25); // readable again, without the lost rows
  const after = await fsck(store);
  expect(after).toMatchObject({ ok: true, missingFiles: [], version: 3 });
  await expect(store.head(orphan)).resolves.toMatchObject({ size: 777 }); // fsck deletes no data
}

/** A checkpoint that does not match its commits (a copy of an older one) is found. */
async function badCheckpoint(store: ObjectStore): Promise<void> {
  await appendSmallFiles(store, 2, 4); // versions 0, 1
  const cp = await checkpoint(store); // at 1
  await appendSmallFiles(store, 1, 4); // version 2 adds two files
  await store.put(classicCheckpointPath(2), await store.get(cp.path ?? classicCheckpointPath(1)));
  const r = await fsck(store);
  expect(r.ok).toBe(false);
  expect(r.checkpoint).toMatchObject({ version: 2, comparedFrom: 1, agrees: false, numDifferences: 2 });
  expect(
    r.checkpoint!.differences.every((d) => /^active file .* is missing from the checkpoint$/.test(d)),
  ).toBe(true);
}

describe('fsck on local disk', () => {
  test('missing data file: report, repair as FSCK with rows lost, orphans kept', async () => {
    await missingFileAndRepair(tempTable('fsck').store);
  });

  test('a checkpoint that disagrees with the JSON commits', async () => {
    await badCheckpoint(tempTable('fsck-cp').store);
  });

  test('log gaps: one a checkpoint covers, one that makes the table unreadable', async () => {
    const { store } = tempTable('fsck-gap');
    await appendSmallFiles(store, 4, 2); // versions 0..3
    await checkpoint(store); // at 3
    await store.deleteMany([commitPath(1)]);
    let r = await fsck(store);
    expect(r.logGaps).toEqual([{ from: 1, to: 1, coveredByCheckpoint: true }]);
    expect(r.loadError).toBeNull();
    expect(r.checkpoint).toBeNull();
    expect(r.checkpointSkipped).toMatch(/cleaned up/);
    expect(r.ok).toBe(false);

    await appendSmallFiles(store, 3, 2); // versions 4..6
    await store.deleteMany([commitPath(5)]);
    r = await fsck(store);
    expect(r.logGaps).toEqual([
      { from: 1, to: 1, coveredByCheckpoint: true },
      { from: 5, to: 5, coveredByCheckpoint: false },
    ]);
    expect(r.version).toBeNull();
    expect(r.loadError).toMatch(/missing commit 00000000000000000005\.json/);
  });

  test('CLI: exit code 1 and the report; --repair; json', async () => {
    const { dir, store } = tempTable('fsck-cli');
    await appendSmallFiles(store, 1, 4);
    const lost = (await Snapshot.load(store)).activeFiles()[0]!;
    await store.deleteMany([decodeURIComponent(lost.path)]);
    const check = lakehouse(['fsck', dir]);
    expect(check.code).toBe(1);
    expect(check.stderr).toMatch(/\[CORRUPT_LOG\]: fsck: .*1 missing file\(s\) \(run with --repair/);
    expect(check.stdout).toContain(`missing data file ${lost.path}`);
    expect(check.stdout).toMatch(/1 missing file\(s\), 2 rows \(run with --repair/);
    const fix = lakehouse(['fsck', dir, '--repair']);
    expect(fix.code).toBe(0);
    expect(fix.stdout).toMatch(/repaired: version 1 removes 1 missing file\(s\), 2 rows lost\nrepaired\n$/);
    const json = lakehouse(['fsck', dir, '--format', 'json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, version: 1 });
  });
});

describe('fsck on S3 (MinIO)', () => {
  let minio: MinioServer;
  beforeAll(async () => {
    minio = await startMinio();
  });
  afterAll(async () => {
    await minio?.stop();
  });
  const withStore = async (fn: (s: ObjectStore, uri: string) => Promise<void>): Promise<void> => {
    const uri = minio.uri();
    const store = await openStore(uri, minio.storageOptions);
    try {
      await fn(store, uri);
    } finally {
      await store.close?.();
    }
  };

  test('missing data file: report, repair as FSCK with rows lost, orphans kept', () =>
    withStore((s) => missingFileAndRepair(s)));
  test('a checkpoint that disagrees with the JSON commits', () => withStore((s) => badCheckpoint(s)));
  test('CLI --repair', () =>
    withStore(async (store, uri) => {
      await appendSmallFiles(store, 1, 4);
      const lost = (await Snapshot.load(store)).activeFiles()[1]!;
      await store.deleteMany([decodeURIComponent(lost.path)]);
      const r = lakehouse([
        'fsck',
        uri,
        '--repair',
        '--format',
        'json',
        ...storageArgs(minio.storageOptions),
      ]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ repair: { version: 1, filesRemoved: 1, rowsLost: 2 } });
    }));
});
