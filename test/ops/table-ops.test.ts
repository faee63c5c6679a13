import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { restore } from '../../lib/ops/restore.js';
import { describeTable } from '../../lib/ops/describe.js';
import { peerRead, peerWrite, peerBatch } from '../harness/peers.js';

const BIN = path.resolve('bin/lakehouse.js');
function lakehouse(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const schema = [
  { name: 'id', type: 'long' },
  { name: 'name', type: 'string' },
  { name: 'day', type: 'date' },
];

/** v0: 2 rows; v1: +1 row; v2: overwrite with 1 row. */
async function threeVersions(): Promise<string> {
  const dir = path.join(await mkdtemp(path.join(tmpdir(), 'lk-ops-')), 't');
  await peerWrite('delta-rs', dir, {
    schema,
    partitionBy: ['day'],
    rows: [
      { id: 1, name: 'a', day: '2026-01-01' },
      { id: 2, name: 'b', day: '2026-01-02' },
    ],
  });
  await peerWrite('delta-rs', dir, {
    schema,
    partitionBy: ['day'],
    rows: [{ id: 3, name: 'c', day: '2026-01-02' }],
  });
  await peerWrite('delta-rs', dir, {
    schema,
    partitionBy: ['day'],
    mode: 'overwrite',
    rows: [{ id: 9, name: 'z', day: '2026-01-09' }],
  });
  return dir;
}

describe('restore, history, describe, checkpoint (CLI and API)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await threeVersions();
  });

  test('restore to version 1 reads, in delta-rs and Spark, exactly what version 1 read', async () => {
    const before = await peerRead('delta-rs', dir, { version: 1 });
    const r = lakehouse(['restore', dir, '--version', '1', '--format', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout);
    expect(m).toMatchObject({ version: 3, restoredToVersion: 1, numRestoredFiles: 3, numRemovedFiles: 1 });
    const [rs, spark] = await Promise.all([
      peerRead('delta-rs', dir),
      peerBatch('spark', [{ op: 'read', table: dir }]).then((x) => x[0]),
    ]);
    expect(rs.version).toBe(3);
    expect(rs.rows).toEqual(before.rows);
    expect(spark.ok && spark.rows).toEqual(before.rows);
  }, 600_000);

  test('history --format json lists commits newest first with their operations', () => {
    const r = lakehouse(['history', dir, '--format', 'json']);
    expect(r.code).toBe(0);
    const entries = JSON.parse(r.stdout) as { version: number; operation: string; timestamp: string }[];
    expect(entries.map((e) => e.version)).toEqual([3, 2, 1, 0]);
    expect(entries[0]!.operation).toBe('RESTORE');
    expect(entries[0]!.timestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
    const text = lakehouse(['history', dir, '--limit', '2']);
    expect(text.stdout.split('\n').filter((l) => /^\d/.test(l))).toHaveLength(2);
  });

  test('describe --format json has the documented fields', () => {
    const r = lakehouse(['describe', dir, '--format', 'json']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d).toMatchObject({
      version: 3,
      numFiles: 3,
      partitionColumns: ['day'],
      numPartitions: 2,
      numRecords: 3,
      smallFiles: 3,
    });
    expect(d.sizeInBytes).toBeGreaterThan(0);
    expect(d.schema.fields.map((f: { name: string }) => f.name)).toEqual(['id', 'name', 'day']);
    expect(d.protocol.minReaderVersion).toBeGreaterThanOrEqual(1);
    expect(d.properties).toBeDefined();
    expect(lakehouse(['describe', dir]).stdout).toMatch(/small files\s+3 below 96\.0 MiB/);
  });

  test('checkpoint via the CLI; delta-rs loads the table from it with the JSON commits deleted', async () => {
    const copy = path.join(await mkdtemp(path.join(tmpdir(), 'lk-ops-')), 't');
    spawnSync('cp', ['-r', dir, copy]);
    const r = lakehouse(['checkpoint', copy, '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ version: 3, numOfAddFiles: 3 });
    const expected = await peerRead('delta-rs', copy);
    for (const f of await readdir(path.join(copy, '_delta_log'))) {
      if (/^0+[0-3]\.json$/.test(f)) await rm(path.join(copy, '_delta_log', f));
    }
    const after = await peerRead('delta-rs', copy);
    expect(after.rows).toEqual(expected.rows);
    expect(after.version).toBe(3);
  });

  test('restore refuses when VACUUM already deleted files the target needs, naming them', async () => {
    const d2 = await threeVersions();
    const store = new LocalObjectStore(d2);
    const v0 = (await describeTable(store, { version: 0 })).numFiles;
    expect(v0).toBe(2);
    const { vacuum } = await import('../../lib/ops/vacuum.js');
    await vacuum(store, { retentionHours: 0, force: true, now: Date.now() + 1000 });
    await expect(restore(store, { version: 0 })).rejects.toMatchObject({
      code: 'UNSAFE_OPERATION',
      message: expect.stringMatching(/needs 2 file\(s\) that VACUUM already deleted \(e\.g\. day=2026-01-0/),
    });
  });

  test('usage errors exit 2', () => {
    expect(lakehouse(['restore', dir]).code).toBe(2);
    expect(lakehouse(['history', dir, '--limit', 'x']).code).toBe(2);
    expect(lakehouse(['vacuum', dir, '--retention-hours', '-1']).code).toBe(2);
  });
});
