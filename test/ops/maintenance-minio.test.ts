import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  Bool,
  Field,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  TimestampMillisecond,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { formatBytes } from '../../lib/cli/output.js';
import { writeParquetFile } from '../../lib/data/parquet-io.js';
import { commitPath } from '../../lib/delta/log-path.js';
import { Snapshot } from '../../lib/delta/snapshot.js';
import { checkpoint } from '../../lib/ops/checkpoint.js';
import { fsck } from '../../lib/ops/fsck.js';
import { healthScore } from '../../lib/ops/health.js';
import { scanTable } from '../../lib/ops/scan.js';
import { vacuum } from '../../lib/ops/vacuum.js';
import { openStore } from '../../lib/storage/index.js';
import { readInventory } from '../../lib/storage/inventory.js';
import type { ObjectStore } from '../../lib/storage/object-store.js';
import { startMinio, type MinioServer } from '../harness/minio.js';
import { appendSmallFiles, DAY, lakehouse, putOrphan, storageArgs } from './health-fixtures.js';

/**
 * Issue 12, items 4-7 on a cloud test server (MinIO), through the CLI a user runs: `plan`
 * (and `--dry-run` of optimize and vacuum agreeing with it), `health` text and json, `fsck`
 * reports and `--repair`, and vacuum from an S3 Inventory Parquet report stored in the bucket.
 * The library-level life cycles on MinIO are in health/plan/fsck/inventory.test.ts.
 */

let minio: MinioServer;
beforeAll(async () => {
  minio = await startMinio();
}, 300_000);
afterAll(async () => {
  await minio?.stop();
});

const cli = (args: string[]): ReturnType<typeof lakehouse> =>
  lakehouse([...args, ...storageArgs(minio.storageOptions)]);

async function withTable(fn: (store: ObjectStore, uri: string) => Promise<void>): Promise<void> {
  const uri = minio.uri();
  const store = await openStore(uri, minio.storageOptions);
  try {
    await fn(store, uri);
  } finally {
    await store.close?.();
  }
}

async function countRows(store: ObjectStore): Promise<number> {
  let n = 0;
  for await (const b of await scanTable(store)) n += b.numRows;
  return n;
}

/** Files and bytes of the latest version per partition folder, e.g. `day=d0`. */
async function activeByPartition(store: ObjectStore): Promise<Map<string, { files: number; bytes: number }>> {
  const out = new Map<string, { files: number; bytes: number }>();
  for (const f of (await Snapshot.load(store)).activeFiles()) {
    const key = `day=${f.partitionValues.day}`;
    const e = out.get(key) ?? { files: 0, bytes: 0 };
    out.set(key, { files: e.files + 1, bytes: e.bytes + f.size });
  }
  return out;
}

const sum = (m: Map<string, { files: number; bytes: number }>): number =>
  [...m.values()].reduce((s, x) => s + x.bytes, 0);

describe('plan on MinIO through the CLI', () => {
  test('per-partition rewrite; optimize --dry-run agrees; vacuum --dry-run and vacuum do what the plan says', () =>
    withTable(async (store, uri) => {
      await appendSmallFiles(store, 3); // versions 0..2: 3 small files in each of 2 partitions, 30 rows
      const before = await activeByPartition(store);
      const bytesBefore = sum(before);

      let r = cli(['plan', uri, '--format', 'json']);
      expect(r.stderr).toBe('');
      let p = JSON.parse(r.stdout);
      expect(p).toMatchObject({ cloud: 'aws', version: 2 });
      expect(p.optimize).toMatchObject({ filesToRewrite: 6, bytesToRewrite: bytesBefore, filesToWrite: 2 });
      const planned = p.optimize.plan.partitions.map(
        (x: { partition: string; action: string; filesIn: number; bytesIn: number }) => [
          x.partition,
          x.action,
          x.filesIn,
          x.bytesIn,
        ],
      );
      expect(planned).toEqual([...before].sort().map(([part, e]) => [part, 'compact', e.files, e.bytes]));
      expect(p.optimize.requests).toEqual({ read: 12, write: 3, list: 0, delete: 0 });
      expect(p.vacuum).toMatchObject({ filesToDelete: 0, filesListed: 9, timeTravelLost: null });

      // optimize --dry-run shows the same partitions and changes nothing.
      r = cli(['optimize', uri, '--dry-run', '--format', 'json']);
      expect(r.code).toBe(0);
      const dryOpt = JSON.parse(r.stdout);
      expect(dryOpt.dryRun).toBe(true);
      expect(
        dryOpt.plan.partitions.map(
          (x: { partition: string; action: string; filesIn: number; bytesIn: number }) => [
            x.partition,
            x.action,
            x.filesIn,
            x.bytesIn,
          ],
        ),
      ).toEqual(planned);
      expect((await Snapshot.load(store)).version).toBe(2);

      r = cli(['optimize', uri]);
      expect(r.code).toBe(0);
      expect((await Snapshot.load(store)).version).toBe(3);
      const orphan = await putOrphan(store, 1000);

      // A zero-hour window: the 6 compacted files and the orphan go, and time travel to 0..2 ends.
      r = cli(['plan', uri, '--retention-hours', '0', '--format', 'json']);
      expect(r.stderr).toBe('');
      p = JSON.parse(r.stdout);
      expect(p.optimize.filesToRewrite).toBe(0);
      expect(p.vacuum).toMatchObject({
        retentionHours: 0,
        shorterThanTable: true,
        filesToDelete: 7,
        bytesToDelete: bytesBefore + 1000,
        timeTravelLost: { from: 0, to: 2 },
      });
      expect(
        p.vacuum.partitions.map((x: { partition: string; files: number }) => [x.partition, x.files]),
      ).toEqual([
        ['day=d0', 4],
        ['day=d1', 3],
      ]);
      expect(p.vacuum.requests).toEqual({ read: 0, write: 2, list: 1, delete: 1 });
      expect(p.vacuum.cost).toBeGreaterThan(0);

      const text = cli(['plan', uri, '--retention-hours', '0']);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain(`plan for ${uri} at version 3 (prices: aws)`);
      expect(text.stdout).toContain(
        `vacuum (retention 0 h, shorter than the table's: needs --force): delete 7 file(s), ${formatBytes(bytesBefore + 1000)}`,
      );
      expect(text.stdout).toMatch(/day=d0 +4 /);
      expect(text.stdout).toContain('time travel lost: versions 0 to 2');

      // Without --force vacuum refuses the short window; with it, the dry run lists what the plan said.
      r = cli(['vacuum', uri, '--retention-hours', '0', '--dry-run', '--format', 'json']);
      expect(r.code).not.toBe(0);
      r = cli(['vacuum', uri, '--retention-hours', '0', '--force', '--dry-run', '--format', 'json']);
      expect(r.code).toBe(0);
      const dry = JSON.parse(r.stdout);
      expect(dry).toMatchObject({ dryRun: true, filesDeleted: 7, bytesDeleted: bytesBefore + 1000 });
      expect(dry.deletedPaths).toContain(orphan);
      await expect(store.head(orphan)).resolves.toMatchObject({ size: 1000 });

      r = cli(['vacuum', uri, '--retention-hours', '0', '--force', '--format', 'json']);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ filesDeleted: 7, bytesDeleted: bytesBefore + 1000 });
      await expect(store.head(orphan)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await countRows(store)).toBe(30);
      p = JSON.parse(cli(['plan', uri, '--retention-hours', '0', '--format', 'json']).stdout);
      expect(p.vacuum.filesToDelete).toBe(0);
    }));
});

describe('plan a folder of LakeTables whose tables live on MinIO', () => {
  test('each table planned with its own settings; a table not created yet is reported, not an error', () =>
    withTable(async (store, uri) => {
      await appendSmallFiles(store, 2); // 4 small files in 2 partitions
      expect(cli(['optimize', uri]).code).toBe(0); // version 2: 4 removed files
      const removedBytes = (await vacuum(store, { dryRun: true, retentionHours: 0, force: true }))
        .bytesDeleted;
      const specs = mkdtempSync(path.join(os.tmpdir(), 'lk-specs-'));
      const table = (name: string, location: string, maintenance: string, ...extra: string[]): string =>
        [
          'apiVersion: lakehouse.dev/v1alpha1',
          'kind: LakeTable',
          `metadata: { name: ${name} }`,
          'spec:',
          `  location: ${location}`,
          '  schema: { columns: [{ name: id, type: long }, { name: day, type: string }, { name: name, type: string }] }',
          '  partitionBy: [day]',
          `  maintenance: ${maintenance}`,
          ...extra,
        ].join('\n');
      writeFileSync(
        path.join(specs, 'a.yaml'),
        table(
          'events',
          uri,
          '{ vacuum: { retention: 0s, unsafeAllowShortRetention: true } }',
          '  properties: { delta.deletedFileRetentionDuration: "interval 0 seconds" }',
        ),
      );
      writeFileSync(
        path.join(specs, 'b.yaml'),
        table('later', minio.uri(), '{ compaction: { targetFileSize: 1Ki } }'),
      );
      const r = cli(['plan', specs, '--format', 'json']);
      expect(r.stderr).toBe('');
      const plans = JSON.parse(r.stdout);
      expect(plans).toHaveLength(2);
      expect(plans[0]).toMatchObject({
        cloud: 'aws',
        version: 2,
        optimize: { filesToRewrite: 0 },
        vacuum: {
          retentionHours: 0,
          filesToDelete: 4,
          bytesToDelete: removedBytes,
          timeTravelLost: { from: 0, to: 1 },
        },
      });
      expect(plans[1]).toMatchObject({ name: 'later', missing: expect.stringMatching(/not created/) });
    }));
});

describe('health on MinIO through the CLI', () => {
  test('text and json: small files, removed files retained, orphan bytes, last runs, checkpoint', () =>
    withTable(async (store, uri) => {
      await appendSmallFiles(store, 2); // versions 0, 1: 4 small files
      const bytesBefore = sum(await activeByPartition(store));
      expect(cli(['optimize', uri]).code).toBe(0); // version 2: 2 files
      const after = sum(await activeByPartition(store));
      await putOrphan(store, 500);

      const text = cli(['health', uri]);
      expect(text.stderr).toBe('');
      expect(text.stdout).toContain(`location          ${uri}`);
      expect(text.stdout).toMatch(/^version +2$/m);
      expect(text.stdout).toMatch(/^score +\d+\/100$/m);
      expect(text.stdout).toContain(`files             2 (${formatBytes(after)})`);
      expect(text.stdout).toContain('small files       2 below 96.0 MiB (100.0%)');
      expect(text.stdout).toContain('since checkpoint  3 commit(s) (interval 10)');
      expect(text.stdout).toContain(
        `removed, retained 4 file(s), ${formatBytes(bytesBefore)} (inside the 168 h window)`,
      );
      expect(text.stdout).toContain('orphans           1 file(s), 500 B');
      expect(text.stdout).toContain('reclaimable       0 file(s), 0 B (older than the window)');
      expect(text.stdout).toMatch(/^last optimize +0\.\d h ago \(version 2\)$/m);
      expect(text.stdout).toContain('last vacuum       never (in the last 3 commits)');
      expect(text.stdout).toContain('last checkpoint   none');

      expect(cli(['checkpoint', uri]).code).toBe(0);
      const json = cli(['health', uri, '--format', 'json']);
      expect(json.stderr).toBe('');
      const h = JSON.parse(json.stdout);
      expect(h).toMatchObject({
        version: 2,
        numFiles: 2,
        sizeInBytes: after,
        smallFiles: 2,
        smallFileRatio: 1,
        lastCheckpointVersion: 2,
        commitsSinceCheckpoint: 0,
        removedFilesInRetention: 4,
        removedBytesInRetention: bytesBefore,
        orphanFiles: 1,
        orphanBytes: 500,
        reclaimableFiles: 0,
        lastOptimize: { version: 2 },
        lastVacuum: null,
        lastCheckpoint: { version: 2 },
      });
      expect(h.openLatestMs).toBeGreaterThan(0);
      // The printed score is the documented rule applied to the printed measures.
      expect(h.score).toBe(healthScore(h).score);
    }));
});

describe('fsck on MinIO through the CLI', () => {
  test('missing file and orphan reported with sizes, exit 1; --repair removes it, keeps the orphan', () =>
    withTable(async (store, uri) => {
      await appendSmallFiles(store, 1, 4); // version 0: 2 files of 2 rows
      const lost = (await Snapshot.load(store)).activeFiles()[0]!;
      await store.deleteMany([decodeURIComponent(lost.path)]);
      const orphan = await putOrphan(store, 777);

      const check = cli(['fsck', uri]);
      expect(check.code).toBe(1);
      expect(check.stdout).toContain(`table ${uri}, version 0`);
      expect(check.stdout).toContain(`missing data file ${lost.path} (${formatBytes(lost.size)}, 2 rows)`);
      expect(check.stdout).toContain('1 missing file(s), 2 rows (run with --repair');
      expect(check.stdout).toMatch(
        new RegExp(`^orphan ${orphan} 777 B, 0\\.\\d h old \\(inside the retention window\\)$`, 'm'),
      );
      expect(check.stdout).toContain('1 orphan file(s), 777 B');
      expect(check.stdout).toMatch(/problems found\n$/);
      expect(check.stderr).toMatch(/\[CORRUPT_LOG\]: fsck: .*1 missing file\(s\)/);
      expect((await Snapshot.load(store)).version).toBe(0); // a check commits nothing

      const fix = cli(['fsck', uri, '--repair']);
      expect(fix.code).toBe(0);
      expect(fix.stdout).toContain('repaired: version 1 removes 1 missing file(s), 2 rows lost');
      expect(fix.stdout).toMatch(/\nrepaired\n$/);
      expect(await countRows(store)).toBe(2);
      await expect(store.head(orphan)).resolves.toMatchObject({ size: 777 }); // fsck deletes no data
    }));

  test('log gaps: one a checkpoint covers (exit 0, reported), one that makes the table unreadable (exit 1)', () =>
    withTable(async (store, uri) => {
      await appendSmallFiles(store, 4, 2); // versions 0..3
      await checkpoint(store); // at 3
      await store.deleteMany([commitPath(1)]);
      expect((await fsck(store)).logGaps).toEqual([{ from: 1, to: 1, coveredByCheckpoint: true }]);

      let r = cli(['fsck', uri]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(
        'log gap: commits 1 missing (a checkpoint covers it; time travel into it is lost)',
      );
      expect(r.stdout).not.toMatch(/repaired/); // nothing was repaired
      expect(r.stdout).toMatch(/checkpoint not verified: .*cleaned up/);

      await appendSmallFiles(store, 3, 2); // versions 4..6
      await store.deleteMany([commitPath(5)]);
      const logBefore: string[] = [];
      for await (const m of store.list('_delta_log/')) logBefore.push(m.path);

      r = cli(['fsck', uri, '--repair']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`table ${uri}, version unreadable`);
      expect(r.stdout).toMatch(/cannot load the latest version: .*missing commit 00000000000000000005\.json/);
      expect(r.stdout).toContain(
        'log gap: commits 5 missing (no checkpoint covers it: the table cannot be read past it)',
      );
      expect(r.stderr).toMatch(/\[CORRUPT_LOG\]: .*a log gap no checkpoint covers/);
      const logAfter: string[] = [];
      for await (const m of store.list('_delta_log/')) logAfter.push(m.path);
      expect(logAfter.sort()).toEqual(logBefore.sort()); // --repair never touches the log's files
    }));
});

describe('vacuum from an S3 Inventory Parquet report stored in MinIO', () => {
  interface InvRow {
    key: string;
    size: number;
    lastModified: number;
    isLatest: boolean;
  }

  /** An S3 Inventory in Parquet as AWS writes it: one data file and a manifest naming it. */
  async function putParquetInventory(bucketStore: ObjectStore, rows: InvRow[]): Promise<string> {
    const fields = [
      new Field('bucket', new Utf8(), false),
      new Field('key', new Utf8(), false),
      new Field('size', new Int64(), false),
      new Field('last_modified_date', new TimestampMillisecond(), false),
      new Field('is_latest', new Bool(), false),
    ];
    const columns = [
      rows.map(() => minio.bucket),
      rows.map((r) => r.key),
      rows.map((r) => BigInt(r.size)),
      rows.map((r) => r.lastModified),
      rows.map((r) => r.isLatest),
    ];
    const children = fields.map((f, i) => vectorFromArray(columns[i]!, f.type).data[0]!);
    const data = makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children });
    const parquet = writeParquetFile([new RecordBatch(new Schema(fields), data)]);
    const base = `inventory-${randomUUID()}/${minio.bucket}/daily`;
    const shard = `${base}/data/${randomUUID()}.parquet`;
    await bucketStore.put(shard, parquet);
    const manifest = `${base}/2026-11-24T01-00Z/manifest.json`;
    await bucketStore.put(
      manifest,
      Buffer.from(
        JSON.stringify({
          sourceBucket: minio.bucket,
          destinationBucket: `arn:aws:s3:::${minio.bucket}`,
          version: '2016-11-30',
          creationTimestamp: String(Date.now()),
          fileFormat: 'Parquet',
          fileSchema:
            'message s3.inventory { required binary bucket (STRING); required binary key (STRING); optional int64 size; optional int64 last_modified_date (TIMESTAMP(MILLIS,true)); optional boolean is_latest; }',
          files: [{ key: shard, size: parquet.length, MD5checksum: 'x' }],
        }),
      ),
    );
    return `s3://${minio.bucket}/${manifest}`;
  }

  test('each candidate re-checked: young files kept whatever the report says; old ones deleted in rate-limited parallel batches', async () => {
    const tablePrefix = `tables/${randomUUID()}`;
    const tableUri = `s3://${minio.bucket}/${tablePrefix}`;
    const store = await openStore(tableUri, minio.storageOptions);
    const bucketStore = await openStore(`s3://${minio.bucket}`, minio.storageOptions);
    try {
      await appendSmallFiles(store, 1, 4); // version 0: 2 data files
      const orphans: string[] = [];
      for (let i = 0; i < 4; i++) orphans.push(await putOrphan(store, 10 + i));
      const onlyOldVersion = await putOrphan(store, 50); // listed only as a non-current version
      const gone = `day=d1/part-gone-${randomUUID()}.parquet`; // listed, no longer there
      // The report says every file is 30 days old; the objects themselves are seconds old.
      const claimed = Date.now() - 30 * DAY;
      const rows: InvRow[] = [];
      for await (const m of store.list(''))
        if (m.path !== onlyOldVersion)
          rows.push({ key: `${tablePrefix}/${m.path}`, size: m.size, lastModified: claimed, isLatest: true });
      rows.push({
        key: `${tablePrefix}/${onlyOldVersion}`,
        size: 50,
        lastModified: claimed,
        isLatest: false,
      });
      rows.push({ key: `${tablePrefix}/${gone}`, size: 5, lastModified: claimed, isLatest: true });
      const manifestUri = await putParquetInventory(bucketStore, rows);
      const notInReport = await putOrphan(store, 60);

      // The table's 168 h window: nothing is old enough, whatever the report claims.
      let r = cli(['vacuum', tableUri, '--inventory', manifestUri, '--format', 'json']);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toMatchObject({
        dryRun: false,
        filesDeleted: 0,
        filesSkippedStale: 5, // 4 young orphans + the one gone
      });
      for (const o of [...orphans, onlyOldVersion, notInReport])
        await expect(store.head(o)).resolves.toBeTruthy();

      // A one-hour window (needs --force): still nothing, the files are minutes old.
      r = cli([
        'vacuum',
        tableUri,
        '--inventory',
        manifestUri,
        '--retention-hours',
        '1',
        '--force',
        '--format',
        'json',
      ]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ filesDeleted: 0, filesSkippedStale: 5 });

      // A zero window, dry run: exactly the listed, current, still-present orphans.
      r = cli([
        'vacuum',
        tableUri,
        '--inventory',
        manifestUri,
        '--retention-hours',
        '0',
        '--force',
        '--dry-run',
        '--format',
        'json',
      ]);
      expect(r.code).toBe(0);
      const dry = JSON.parse(r.stdout);
      expect(dry).toMatchObject({
        dryRun: true,
        filesDeleted: 4,
        bytesDeleted: 10 + 11 + 12 + 13,
        filesSkippedStale: 1,
      });
      expect([...dry.deletedPaths].sort()).toEqual([...orphans].sort());

      // The deletion: batches of one, two in flight, at most 3 deletes a second: 4 deletes need over a second.
      const progress: number[] = [];
      const started = Date.now();
      const m = await vacuum(store, {
        listing: readInventory(manifestUri, { tableUri, storageOptions: minio.storageOptions }),
        retentionHours: 0,
        force: true,
        batchSize: 1,
        concurrency: 2,
        maxDeletesPerSecond: 3,
        onProgress: (done) => progress.push(done),
      });
      const elapsed = Date.now() - started;
      expect(m).toMatchObject({ filesDeleted: 4, bytesDeleted: 46, filesSkippedStale: 1 });
      expect(elapsed).toBeGreaterThanOrEqual(950);
      // Progress counts candidates checked (the 4 orphans and the gone file), one batch at a time.
      expect(progress.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
      for (const o of orphans) await expect(store.head(o)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      // Never deleted: a file the report names only as an old version, one it does not name, the table's data.
      await expect(store.head(onlyOldVersion)).resolves.toMatchObject({ size: 50 });
      await expect(store.head(notInReport)).resolves.toMatchObject({ size: 60 });
      expect(await countRows(store)).toBe(4);
    } finally {
      await store.close?.();
      await bucketStore.close?.();
    }
  });
});
