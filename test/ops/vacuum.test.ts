import { mkdtemp, readdir, stat, utimes, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { Snapshot } from '../../lib/delta/snapshot.js';
import { history } from '../../lib/delta/history.js';
import { vacuum, isProtectedPath } from '../../lib/ops/vacuum.js';
import { peerFiles, peerRead, peerWrite } from '../harness/peers.js';

const schema = [
  { name: 'id', type: 'long' },
  { name: 'day', type: 'string' },
];
const HOUR = 3_600_000;

async function listDataFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(rel: string): Promise<void> {
    for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (e.name !== '_delta_log') await walk(p);
      } else out.push(p);
    }
  }
  await walk('');
  return out.sort();
}

/** A delta-rs table: v0 appends two partitions, v1 overwrites (tombstoning v0's files). */
async function tableWithTombstones(): Promise<{ dir: string; v0Files: string[]; v1Files: string[] }> {
  const dir = path.join(await mkdtemp(path.join(tmpdir(), 'lk-vacuum-')), 't');
  await peerWrite('delta-rs', dir, {
    schema,
    partitionBy: ['day'],
    rows: [
      { id: 1, day: '2026-01-01' },
      { id: 2, day: '2026-01-02' },
    ],
  });
  const v0Files = (await peerFiles('delta-rs', dir)).files;
  await peerWrite('delta-rs', dir, {
    schema,
    partitionBy: ['day'],
    mode: 'overwrite',
    rows: [{ id: 3, day: '2026-01-03' }],
  });
  const v1Files = (await peerFiles('delta-rs', dir)).files;
  return { dir, v0Files, v1Files };
}

describe('vacuum', () => {
  test('default retention keeps the files of versions inside the window; a pinned old reader still reads them', async () => {
    const { dir, v0Files } = await tableWithTombstones();
    const store = new LocalObjectStore(dir);
    const pinned = await Snapshot.load(store, { version: 0 }); // a reader pinned to v0
    const m = await vacuum(store);
    expect(m.filesDeleted).toBe(0);
    expect(m.filesKeptForTimeTravel).toBe(v0Files.length);
    for (const add of pinned.activeFiles())
      await expect(stat(path.join(dir, decodeURIComponent(add.path)))).resolves.toBeTruthy();
    const rows = await peerRead('delta-rs', dir, { version: 0 });
    expect(rows.numRows).toBe(2);
  });

  test('a retention below the table minimum is refused without --force, with the reason', async () => {
    const { dir } = await tableWithTombstones();
    await expect(vacuum(new LocalObjectStore(dir), { retentionHours: 0 })).rejects.toMatchObject({
      code: 'UNSAFE_OPERATION',
      message: expect.stringMatching(
        /shorter than the table's delta\.deletedFileRetentionDuration \(168 hours\).*--force/,
      ),
    });
  });

  test('files of a version just outside the window are deleted; just inside are kept', async () => {
    const { dir, v0Files, v1Files } = await tableWithTombstones();
    const store = new LocalObjectStore(dir);
    const snap = await Snapshot.load(store);
    const removedAt = Math.max(...snap.tombstones().map((t) => t.deletionTimestamp ?? 0));
    // Age the files so only the tombstone rule decides.
    const old = new Date(removedAt - 30 * 24 * HOUR);
    for (const f of await listDataFiles(dir)) await utimes(path.join(dir, f), old, old);

    const inside = await vacuum(store, { now: removedAt + 168 * HOUR - 1000, dryRun: true });
    expect(inside.filesDeleted).toBe(0);

    const outside = await vacuum(store, { now: removedAt + 168 * HOUR + 1000 });
    expect(outside.deletedPaths.sort()).toEqual([...v0Files].sort());
    expect(await listDataFiles(dir)).toEqual([...v1Files].sort());
    // delta-rs still reads the latest version identically
    const rows = await peerRead('delta-rs', dir);
    expect(rows.rows).toEqual(['{"id":3,"day":"2026-01-03"}']);
    // VACUUM START / END recorded, as Spark does
    const ops: string[] = [];
    for await (const e of history(store)) ops.push(String(e.commitInfo?.operation));
    expect(ops.slice(0, 2)).toEqual(['VACUUM END', 'VACUUM START']);
  });

  test('dry run lists and deletes nothing; --force with retention 0 deletes tombstoned files', async () => {
    const { dir, v0Files, v1Files } = await tableWithTombstones();
    const store = new LocalObjectStore(dir);
    const before = await listDataFiles(dir);
    const dry = await vacuum(store, { retentionHours: 0, force: true, dryRun: true, now: Date.now() + 1000 });
    expect(dry.deletedPaths.sort()).toEqual([...v0Files].sort());
    expect(await listDataFiles(dir)).toEqual(before);
    const real = await vacuum(store, { retentionHours: 0, force: true, now: Date.now() + 1000 });
    expect(real.filesDeleted).toBe(v0Files.length);
    expect(await listDataFiles(dir)).toEqual([...v1Files].sort());
  });

  test('orphans: young ones are kept (an append may be in flight), old ones deleted; hidden paths never', async () => {
    const { dir, v1Files } = await tableWithTombstones();
    const store = new LocalObjectStore(dir);
    await writeFile(path.join(dir, 'day=2026-01-03', 'part-inflight.parquet'), 'x');
    await writeFile(path.join(dir, 'day=2026-01-03', 'part-orphan.parquet'), 'x');
    await mkdir(path.join(dir, '_tmp'), { recursive: true });
    await writeFile(path.join(dir, '_tmp', 'scratch'), 'x');
    await writeFile(path.join(dir, '.hidden'), 'x');
    const old = new Date(Date.now() - 30 * 24 * HOUR);
    for (const f of ['day=2026-01-03/part-orphan.parquet', '_tmp/scratch', '.hidden'])
      await utimes(path.join(dir, f), old, old);
    const m = await vacuum(store); // default 7-day retention
    expect(m.deletedPaths).toEqual(['day=2026-01-03/part-orphan.parquet']);
    expect(m.filesKeptTooYoung).toBe(1);
    const left = await listDataFiles(dir);
    expect(left).toEqual(
      expect.arrayContaining([...v1Files, 'day=2026-01-03/part-inflight.parquet', '_tmp/scratch', '.hidden']),
    );
  });

  test('protected paths', () => {
    expect(isProtectedPath('_delta_log/00000000000000000000.json')).toBe(true);
    expect(isProtectedPath('_delta_log/_commits/x.json')).toBe(true);
    expect(isProtectedPath('.part-1.parquet.crc')).toBe(true);
    expect(isProtectedPath('_tmp/x')).toBe(true);
    expect(isProtectedPath('_col=1/part-0.parquet')).toBe(false);
    expect(isProtectedPath('_change_data/cdc-0.parquet')).toBe(false);
    expect(isProtectedPath('day=1/part-0.parquet')).toBe(false);
  });
});
