import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  Bool,
  Field,
  Int64,
  RecordBatch,
  Schema,
  TimestampMillisecond,
  Utf8,
  vectorFromArray,
  makeData,
  Struct,
} from 'apache-arrow';
import { writeParquetFile } from '../../lib/data/parquet-io.js';
import { Snapshot } from '../../lib/delta/snapshot.js';
import { vacuum } from '../../lib/ops/vacuum.js';
import { openStore } from '../../lib/storage/index.js';
import { inventoryScopeOf, parseCsv, readInventory } from '../../lib/storage/inventory.js';
import type { ObjectMeta } from '../../lib/storage/object-store.js';
import { startMinio, type MinioServer } from '../harness/minio.js';
import { tempTable } from './helpers.js';
import { appendSmallFiles, DAY, lakehouse, putOrphan, storageArgs } from './health-fixtures.js';

interface InvRow {
  bucket: string;
  key: string;
  size: number;
  lastModified: number;
  isLatest?: boolean;
}

/** S3 Inventory's key encoding in CSV reports: URL-encoded, space as '+'. */
function s3EncodeKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+');
}

const S3_SCHEMA =
  'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass';

/**
 * Files of an S3 Inventory report as AWS lays them out under `<dest-prefix>`: the manifest in
 * `<src>/<config>/<timestamp>/manifest.json`, gzip CSV shards in `<src>/<config>/data/`.
 * Returns path (relative to the destination root) → bytes, and the manifest's path.
 */
function s3InventoryFiles(
  destPrefix: string,
  sourceBucket: string,
  shards: InvRow[][],
): { files: Map<string, Uint8Array>; manifest: string } {
  const files = new Map<string, Uint8Array>();
  const base = `${destPrefix}/${sourceBucket}/daily`;
  const entries = shards.map((rows) => {
    const key = `${base}/data/${randomUUID()}.csv.gz`;
    const csv = rows
      .map((r) =>
        [
          r.bucket,
          s3EncodeKey(r.key),
          r.isLatest === false ? 'v1' : 'v2',
          String(r.isLatest ?? true),
          'false',
          String(r.size),
          new Date(r.lastModified).toISOString(),
          'd41d8cd98f00b204e9800998ecf8427e',
          'STANDARD',
        ]
          .map((v) => `"${v}"`)
          .join(','),
      )
      .join('\n');
    const body = gzipSync(Buffer.from(`${csv}\n`));
    files.set(key, body);
    return { key, size: body.length, MD5checksum: 'f11166069f1990abeb9c97ace9cdfabc' };
  });
  const manifest = `${base}/2026-11-24T01-00Z/manifest.json`;
  files.set(
    manifest,
    Buffer.from(
      JSON.stringify({
        sourceBucket,
        destinationBucket: `arn:aws:s3:::inventory-dest`,
        version: '2016-11-30',
        creationTimestamp: String(Date.now()),
        fileFormat: 'CSV',
        fileSchema: S3_SCHEMA,
        files: entries,
      }),
    ),
  );
  return { files, manifest };
}

async function collect(it: AsyncIterable<ObjectMeta>): Promise<ObjectMeta[]> {
  const out: ObjectMeta[] = [];
  for await (const m of it) out.push(m);
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

function writeLocal(dir: string, files: Map<string, Uint8Array>): void {
  for (const [p, body] of files) {
    mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    writeFileSync(path.join(dir, p), body);
  }
}

describe('inventory readers', () => {
  const t0 = Date.parse('2026-11-01T10:00:00.000Z');

  test('CSV parsing: quotes, doubled quotes, commas and CRLF', () => {
    expect(parseCsv('"a","b,c"\r\n"x""y",2\n')).toEqual([
      ['a', 'b,c'],
      ['x"y', '2'],
    ]);
  });

  test('S3 Inventory CSV: two gzip shards, keys decoded, other buckets/prefixes and old versions skipped', async () => {
    const dest = mkdtempSync(path.join(os.tmpdir(), 'lk-inv-'));
    const { files, manifest } = s3InventoryFiles('inventory', 'lake', [
      [
        {
          bucket: 'lake',
          key: 'tables/events/_delta_log/00000000000000000000.json',
          size: 900,
          lastModified: t0,
        },
        { bucket: 'lake', key: 'tables/events/day=a b/part-1.parquet', size: 100, lastModified: t0 },
        {
          bucket: 'lake',
          key: 'tables/events/day=a b/part-0.parquet',
          size: 50,
          lastModified: t0,
          isLatest: false,
        },
        { bucket: 'lake', key: 'tables/events2/part-9.parquet', size: 1, lastModified: t0 },
      ],
      [
        { bucket: 'lake', key: 'tables/events/day=ü%/part-2.parquet', size: 200, lastModified: t0 + 1 },
        { bucket: 'other', key: 'tables/events/part-3.parquet', size: 300, lastModified: t0 },
        { bucket: 'lake', key: 'tables/events/', size: 0, lastModified: t0 },
      ],
    ]);
    writeLocal(dest, files);
    const got = await collect(
      readInventory(path.join(dest, manifest), { scope: inventoryScopeOf('s3://lake/tables/events') }),
    );
    expect(got).toEqual([
      { path: '_delta_log/00000000000000000000.json', size: 900, lastModified: t0 },
      { path: 'day=a b/part-1.parquet', size: 100, lastModified: t0 },
      { path: 'day=ü%/part-2.parquet', size: 200, lastModified: t0 + 1 },
    ]);
  });

  test('S3 Inventory without LastModifiedDate is refused, naming what to add', async () => {
    const dest = mkdtempSync(path.join(os.tmpdir(), 'lk-inv-'));
    const { files, manifest } = s3InventoryFiles('inv', 'lake', [
      [{ bucket: 'lake', key: 't/a.parquet', size: 1, lastModified: t0 }],
    ]);
    const m = JSON.parse(Buffer.from(files.get(manifest)!).toString());
    m.fileSchema = 'Bucket, Key, Size';
    files.set(manifest, Buffer.from(JSON.stringify(m)));
    writeLocal(dest, files);
    await expect(
      collect(readInventory(path.join(dest, manifest), { scope: { prefix: 't' } })),
    ).rejects.toThrow(/has no lastmodifieddate column .* add them to the inventory's fields/);
  });

  test('S3 Inventory Parquet: key, size, last_modified_date; old versions skipped', async () => {
    const dest = mkdtempSync(path.join(os.tmpdir(), 'lk-inv-'));
    const rows = [
      { bucket: 'lake', key: 't/day=a b/p1.parquet', size: 100n, last_modified_date: t0, is_latest: true },
      { bucket: 'lake', key: 't/p0.parquet', size: 5n, last_modified_date: t0, is_latest: false },
      { bucket: 'lake', key: 'u/p2.parquet', size: 7n, last_modified_date: t0, is_latest: true },
    ];
    const fields = [
      new Field('bucket', new Utf8(), false),
      new Field('key', new Utf8(), false),
      new Field('size', new Int64(), false),
      new Field('last_modified_date', new TimestampMillisecond(), false),
      new Field('is_latest', new Bool(), false),
    ];
    const children = fields.map(
      (f) =>
        vectorFromArray(
          rows.map((r) => r[f.name as keyof typeof r]),
          f.type,
        ).data[0]!,
    );
    const data = makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children });
    const parquet = writeParquetFile([new RecordBatch(new Schema(fields), data)]);
    const key = 'inv/lake/daily/data/0f3c.parquet';
    mkdirSync(path.join(dest, 'inv/lake/daily/data'), { recursive: true });
    mkdirSync(path.join(dest, 'inv/lake/daily/2026-11-24T01-00Z'), { recursive: true });
    writeFileSync(path.join(dest, key), parquet);
    writeFileSync(
      path.join(dest, 'inv/lake/daily/2026-11-24T01-00Z/manifest.json'),
      JSON.stringify({
        sourceBucket: 'lake',
        destinationBucket: 'arn:aws:s3:::dest',
        version: '2016-11-30',
        fileFormat: 'Parquet',
        fileSchema:
          'message s3.inventory { required binary bucket (STRING); required binary key (STRING); optional int64 size; optional int64 last_modified_date (TIMESTAMP(MILLIS,true)); optional boolean is_latest; }',
        files: [{ key, size: parquet.length, MD5checksum: 'x' }],
      }),
    );
    const got = await collect(
      readInventory(path.join(dest, 'inv/lake/daily/2026-11-24T01-00Z/manifest.json'), {
        scope: inventoryScopeOf('s3://lake/t'),
      }),
    );
    expect(got).toEqual([{ path: 'day=a b/p1.parquet', size: 100, lastModified: t0 }]);
  });

  test('Azure blob inventory CSV and GCS inventory CSV', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lk-inv-'));
    writeFileSync(
      path.join(dir, 'rule1-manifest.json'),
      JSON.stringify({
        destinationContainer: 'inventory',
        endpoint: 'https://acct.blob.core.windows.net',
        files: [{ blob: 'rule1_1000000_0.csv', size: 10, md5: 'x' }],
        inventoryCompletionTime: '2026-11-24T01:00:00Z',
        ruleName: 'rule1',
      }),
    );
    writeFileSync(
      path.join(dir, 'rule1_1000000_0.csv'),
      [
        'Name,Creation-Time,Last-Modified,Content-Length,Deleted,IsCurrentVersion,Snapshot',
        'lake/t/a.parquet,2026-11-01T10:00:00.0000000Z,2026-11-01T10:00:00.1234567Z,10,false,true,',
        'lake/t/b.parquet,2026-11-01T10:00:00.0000000Z,2026-11-01T10:00:00.0000000Z,11,true,true,',
        'lake/t/c.parquet,2026-11-01T10:00:00.0000000Z,2026-11-01T10:00:00.0000000Z,12,false,true,2026-11-02T00:00:00Z',
        'other/t/d.parquet,2026-11-01T10:00:00.0000000Z,2026-11-01T10:00:00.0000000Z,13,false,true,',
        '',
      ].join('\r\n'),
    );
    expect(
      // Name is `<container>/<blob>`: a rule spans the account's containers.
      await collect(
        readInventory(path.join(dir, 'rule1-manifest.json'), { scope: inventoryScopeOf('az://lake/t') }),
      ),
    ).toEqual([{ path: 'a.parquet', size: 10, lastModified: t0 + 123 }]);

    writeFileSync(
      path.join(dir, 'cfg_2026-11-24_manifest.json'),
      JSON.stringify({
        report_config: { name: 'projects/p/locations/us/reportConfigs/cfg' },
        records_processed: 2,
        snapshot_time: '2026-11-24T01:00:00Z',
        shard_count: 1,
        report_shards_file_names: ['cfg_2026-11-24_0.csv'],
      }),
    );
    writeFileSync(
      path.join(dir, 'cfg_2026-11-24_0.csv'),
      'bucket,name,size,updated,storageClass\nlake,t/x.parquet,5,2026-11-01T10:00:00Z,STANDARD\nlake2,t/y.parquet,6,2026-11-01T10:00:00Z,STANDARD\n',
    );
    expect(
      await collect(
        readInventory(path.join(dir, 'cfg_2026-11-24_manifest.json'), {
          scope: { bucket: 'lake', prefix: 't' },
        }),
      ),
    ).toEqual([{ path: 'x.parquet', size: 5, lastModified: t0 }]);
  });
});

describe('vacuum: rate limit and parallel batches (local disk)', () => {
  test('30 old orphans at 20 deletes/s take at least a second; all deleted, progress reported', async () => {
    const { dir, store } = tempTable('vac-rate');
    await appendSmallFiles(store, 1, 4);
    const old = (Date.now() - 30 * DAY) / 1000;
    for (let i = 0; i < 30; i++) utimesSync(path.join(dir, await putOrphan(store, 10)), old, old);
    const progress: number[] = [];
    const started = Date.now();
    const m = await vacuum(store, {
      maxDeletesPerSecond: 20,
      concurrency: 4,
      onProgress: (d) => progress.push(d),
    });
    const elapsed = Date.now() - started;
    expect(m.filesDeleted).toBe(30);
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(progress.sort((a, b) => a - b)).toEqual([20, 30]);
    expect((await Snapshot.load(store)).numFiles).toBe(2);
  });
});

describe('vacuum from an S3 Inventory on S3 (MinIO)', () => {
  let minio: MinioServer;
  beforeAll(async () => {
    minio = await startMinio();
  });
  afterAll(async () => {
    await minio?.stop();
  });

  test('a stale inventory: only files still there and still old are deleted; files it omits are kept', async () => {
    const tablePrefix = `tables/${randomUUID()}`;
    const tableUri = `s3://${minio.bucket}/${tablePrefix}`;
    const store = await openStore(tableUri, minio.storageOptions);
    const bucketStore = await openStore(`s3://${minio.bucket}`, minio.storageOptions);
    try {
      await appendSmallFiles(store, 2);
      const a = await putOrphan(store, 10);
      const b = await putOrphan(store, 20);
      const gone = `day=d1/part-gone-${randomUUID()}.parquet`;
      // The report claims everything is 30 days old (it is not: a stale or wrong report).
      const claimed = Date.now() - 30 * DAY;
      const rows: InvRow[] = [];
      for await (const m of store.list(''))
        rows.push({
          bucket: minio.bucket,
          key: `${tablePrefix}/${m.path}`,
          size: m.size,
          lastModified: claimed,
        });
      rows.push({ bucket: minio.bucket, key: `${tablePrefix}/${gone}`, size: 5, lastModified: claimed });
      const { files, manifest } = s3InventoryFiles(`inventory-${randomUUID()}`, minio.bucket, [
        rows.slice(0, 3),
        rows.slice(3),
      ]);
      for (const [k, body] of files) await bucketStore.put(k, body);
      const manifestUri = `s3://${minio.bucket}/${manifest}`;
      const notInInventory = await putOrphan(store, 30);
      const listing = () => readInventory(manifestUri, { tableUri, storageOptions: minio.storageOptions });

      // Now: the orphans are young whatever the report says; the missing one is gone.
      let m = await vacuum(store, { listing: listing() });
      expect(m).toMatchObject({ filesDeleted: 0, filesSkippedStale: 3, filesKeptTooYoung: 0 });
      for (const p of [a, b, notInInventory]) await expect(store.head(p)).resolves.toBeTruthy();

      // Eight days later: the two listed orphans are old and still there; deleted.
      const later = Date.now() + 8 * DAY;
      m = await vacuum(store, { listing: listing(), now: later, concurrency: 2, batchSize: 1 });
      expect(m).toMatchObject({ filesDeleted: 2, bytesDeleted: 30, filesSkippedStale: 1 });
      expect(m.deletedPaths).toEqual([a, b].sort());
      await expect(store.head(a)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(store.head(notInInventory)).resolves.toBeTruthy(); // not in the report: never deleted
      expect((await Snapshot.load(store)).numFiles).toBe(4);

      // The CLI: --inventory with a dry run re-checks too (nothing old is left to delete now).
      const r = lakehouse([
        'vacuum',
        tableUri,
        '--inventory',
        manifestUri,
        '--dry-run',
        '--format',
        'json',
        '--max-deletes-per-second',
        '100',
        ...storageArgs(minio.storageOptions),
      ]);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toMatchObject({ dryRun: true, filesDeleted: 0, filesSkippedStale: 3 });
    } finally {
      await store.close?.();
      await bucketStore.close?.();
    }
  });
});
