import { readdir, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { LocalObjectStore } from '../../lib/storage/local.js';
import {
  Snapshot,
  Transaction,
  dataFilePath,
  parseLogPath,
  readLastCheckpoint,
  writeCheckpoint,
} from '../../lib/delta/index.js';
import { runPeer, type PeerRequest } from './peer-batch.js';
import { tempStore } from './helpers.js';

/**
 * Checkpoints we write are read by delta-rs and by Spark, which load the table from our checkpoint
 * alone (the JSON commits before it deleted) and see the same version and active files.
 */
const schema = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: true, metadata: {} },
    { name: 'day', type: 'string', nullable: true, metadata: {} },
  ],
};

async function deleteCommitsBefore(dir: string, version: number): Promise<string[]> {
  const deleted: string[] = [];
  for (const name of await readdir(path.join(dir, '_delta_log'))) {
    const f = parseLogPath(`_delta_log/${name}`);
    if (f?.kind === 'commit' && f.version < version) {
      await rm(path.join(dir, '_delta_log', name));
      deleted.push(name);
    }
  }
  return deleted;
}

test('delta-rs and Spark load our checkpoints with the earlier commits deleted', async () => {
  // Two tables written by delta-rs: partitioned (a null partition too) and plain, with a delete
  // so the checkpoint carries tombstones, and an app transaction from us.
  const parted = await tempStore('lk-cp-parted-');
  const plain = await tempStore('lk-cp-plain-');
  const rows = (n: number, day: string | null) => Array.from({ length: n }, (_, i) => ({ id: i, day }));
  const setup: PeerRequest[] = [
    { op: 'write', table: parted.dir, schema, rows: rows(3, '2026-01-01'), partitionBy: ['day'] },
    { op: 'write', table: parted.dir, schema, rows: rows(2, null), partitionBy: ['day'] },
    { op: 'write', table: parted.dir, schema, rows: rows(2, '2026-01-02'), partitionBy: ['day'] },
    { op: 'delete', table: parted.dir, predicate: "day = '2026-01-01'" },
    { op: 'write', table: plain.dir, schema, rows: rows(5, 'x') },
    { op: 'write', table: plain.dir, schema, rows: rows(5, 'y'), mode: 'overwrite' },
  ];
  const written = await runPeer('delta-rs', setup);
  expect(written.filter((r) => !r.ok)).toEqual([]);

  const ours: { dir: string; version: number; files: string[] }[] = [];
  for (const { dir, store } of [parted, plain]) {
    // One commit of ours on top: an app transaction, so the checkpoint holds a txn row too.
    const s0 = await Snapshot.load(store);
    await new Transaction(store, s0, {
      operation: 'SET TXN',
      appTransaction: { appId: 'job-1', version: 7 },
      autoCheckpoint: false,
    }).commit();
    const snap = await Snapshot.load(store);
    const cp = await writeCheckpoint(store, snap);
    expect(cp.numOfAddFiles).toBe(snap.numFiles);
    expect(await readLastCheckpoint(store)).toMatchObject({
      version: snap.version,
      numOfAddFiles: snap.numFiles,
    });
    expect((await deleteCommitsBefore(dir, snap.version)).length).toBeGreaterThan(0);
    const reloaded = await Snapshot.load(new LocalObjectStore(dir));
    expect(reloaded.logSegment.checkpoint?.version).toBe(snap.version);
    expect(reloaded.appTransactionVersion('job-1')).toBe(7);
    expect(reloaded.tombstones().length).toBe(snap.tombstones().length);
    ours.push({
      dir,
      version: snap.version,
      files: snap
        .activeFiles()
        .map((a) => dataFilePath(a.path))
        .sort(),
    });
  }

  const requests: PeerRequest[] = ours.flatMap((t) => [
    { op: 'version', table: t.dir },
    { op: 'files', table: t.dir },
  ]);
  for (const engine of ['delta-rs', 'spark'] as const) {
    const results = await runPeer(engine, requests);
    ours.forEach((t, i) => {
      const [version, files] = [results[2 * i], results[2 * i + 1]];
      expect({ engine, version }).toEqual({ engine, version: { ok: true, version: t.version } });
      expect({ engine, files: files.ok ? (files as unknown as { files: string[] }).files : files }).toEqual({
        engine,
        files: t.files,
      });
    });
  }
}, 900_000);
