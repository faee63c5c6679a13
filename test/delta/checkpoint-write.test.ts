import { readFile, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import {
  Snapshot,
  Transaction,
  commitPath,
  readParquetActions,
  removeFor,
  writeCheckpoint,
  type Action,
  type AddAction,
} from '../../lib/delta/index.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { add, createTable, tempStore } from './helpers.js';

/**
 * Checkpoints written by the streaming writer (parquet-write.ts) hold every action field as the
 * snapshot has it, across row groups: parquet-wasm (arrow-rs) and our direct decoder read the
 * same actions back, and a snapshot loaded from the checkpoint alone equals the one from commits.
 * (delta-rs and Spark reading our checkpoints: checkpoint-peers.test.ts and the golden suite.)
 */
async function all(gen: AsyncGenerator<Action[]>): Promise<Action[]> {
  const out: Action[] = [];
  for await (const b of gen) out.push(...b);
  return out;
}

const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

describe('checkpoint writer', () => {
  test('every field, nulls, empty maps, multi-byte text and large integers survive, over many row groups', async () => {
    const { dir, store } = await tempStore('lk-cpw-');
    await createTable(store, {
      partitionColumns: ['day'],
      configuration: { 'delta.enableDeletionVectors': 'true', 'delta.appendOnly': 'false' },
    });
    const adds: AddAction[] = [];
    for (let i = 0; i < 300; i++) {
      adds.push(
        add(`day=d${i % 7}/part-${i}-zürich-☃-𝄞.parquet`, {
          partitionValues: i % 5 === 0 ? { day: null } : { day: `d${i % 7}` },
          size: i === 7 ? 2 ** 53 - 1 : i,
          modificationTime: 1_700_000_000_000 + i,
          dataChange: i % 2 === 0,
          ...(i % 3 === 0 ? { stats: undefined } : { stats: `{"numRecords":${i},"note":"é"}` }),
          ...(i % 4 === 0 ? { tags: { a: 'x', b: null } as unknown as Record<string, string> } : {}),
          ...(i % 6 === 0 ? { tags: {} } : {}),
          ...(i % 10 === 1
            ? {
                deletionVector: {
                  storageType: 'u',
                  pathOrInlineDv: 'ab^-aqEH.-t@S}K{vb[*k^',
                  offset: 1,
                  sizeInBytes: 36,
                  cardinality: i,
                },
              }
            : {}),
          ...(i % 9 === 0 ? { baseRowId: i * 1000, defaultRowCommitVersion: 1 } : {}),
        }),
      );
    }
    const s0 = await Snapshot.load(store);
    const tx = new Transaction(store, s0, {
      operation: 'WRITE',
      appTransaction: { appId: 'app-☃', version: 42 },
    });
    tx.addActions(adds.map((a) => ({ add: a })));
    tx.addActions([{ domainMetadata: { domain: 'd.x', configuration: '{"k":"v"}', removed: false } }]);
    await tx.commit();
    const s1 = await Snapshot.load(store);
    const victim = s1.activeFiles().find((a) => a.path.startsWith('day=d1/part-1-'))!;
    const tx2 = new Transaction(store, s1, { operation: 'DELETE', readFiles: [victim.path] });
    tx2.addActions([{ remove: removeFor(victim, { deletionTimestamp: Date.now() }) }]);
    await tx2.commit();
    const snap = await Snapshot.load(store);

    const cp = await writeCheckpoint(store, snap, { rowGroupRows: 64 });
    expect(cp.numOfAddFiles).toBe(299);
    // protocol, metaData, txn, domain, 299 adds, 1 tombstone
    expect(cp.size).toBe(304);
    const name = path.basename(cp.path);
    const log = new LocalObjectStore(path.join(dir, '_delta_log'));
    const columns = ['add', 'remove', 'metaData', 'protocol', 'txn', 'domainMetadata'] as const;
    const direct = await all(readParquetActions(log, name, undefined, columns));
    const arrow = await all(readParquetActions(log, name, undefined, columns, { decoder: 'arrow' }));
    expect(direct).toEqual(arrow);
    const readAdds = direct.flatMap((a) => ('add' in a ? [a.add] : [])).sort(byPath);
    expect(readAdds).toEqual(snap.activeFiles().sort(byPath));
    expect(direct.filter((a) => 'remove' in a)).toHaveLength(1);

    // From the checkpoint alone (commits deleted): the same snapshot.
    for (let v = 0; v <= snap.version; v++) await rm(path.join(dir, commitPath(v)));
    const back = await Snapshot.load(store);
    expect(back.version).toBe(snap.version);
    expect(back.activeFiles().sort(byPath)).toEqual(snap.activeFiles().sort(byPath));
    expect(back.tombstones()).toEqual([expect.objectContaining({ path: victim.path })]);
    expect(back.appTransactionVersion('app-☃')).toBe(42);
    expect(back.domainMetadata.get('d.x')).toBe('{"k":"v"}');
    expect(back.metadata).toEqual(snap.metadata);
    expect(back.protocol).toEqual(snap.protocol);
  });

  test('zstd and gzip pages read back the same', async () => {
    for (const compression of ['zstd', 'gzip'] as const) {
      const { dir, store } = await tempStore('lk-cpw-');
      await createTable(store, { partitionColumns: [] });
      const s0 = await Snapshot.load(store);
      const tx = new Transaction(store, s0, { operation: 'WRITE' });
      tx.addActions(Array.from({ length: 50 }, (_, i) => ({ add: add(`f-${i}.parquet`) })));
      await tx.commit();
      const snap = await Snapshot.load(store);
      await writeCheckpoint(store, snap, { compression, rowGroupRows: 16 });
      await rm(path.join(dir, commitPath(0)));
      const back = await Snapshot.load(store, { version: snap.version });
      expect(back.activeFiles().sort(byPath)).toEqual(snap.activeFiles().sort(byPath));
    }
  });

  test('garbage in a checkpoint page is CORRUPT_LOG naming the file, not a crash', async () => {
    const { dir, store } = await tempStore('lk-cpw-');
    await createTable(store, { partitionColumns: [] });
    const s0 = await Snapshot.load(store);
    const tx = new Transaction(store, s0, { operation: 'WRITE' });
    tx.addActions(Array.from({ length: 200 }, (_, i) => ({ add: add(`f-${i}.parquet`) })));
    await tx.commit();
    const cp = await writeCheckpoint(store, await Snapshot.load(store));
    for (let v = 0; v <= cp.version; v++) await rm(path.join(dir, commitPath(v)));
    const file = path.join(dir, cp.path);
    const bytes = await readFile(file);
    // Overwrite bytes across the first column chunks (page headers and levels), keep the footer.
    for (let i = 4; i < Math.min(4000, bytes.length - 2000); i += 7) bytes[i] = (bytes[i]! * 31 + 17) & 0xff;
    await writeFile(file, bytes);
    await expect(Snapshot.load(store)).rejects.toMatchObject({
      code: 'CORRUPT_LOG',
      message: expect.stringContaining(path.basename(cp.path)),
    });
  });

  test('a metaData.schemaString that is not JSON is CORRUPT_LOG naming the log file it came from', async () => {
    const { dir, store } = await tempStore();
    await createTable(store);
    const snap = await Snapshot.load(store);
    // A checkpoint whose metaData carries a broken schemaString (written as a corrupted file would read).
    const broken = Object.assign(Object.create(Object.getPrototypeOf(snap) as object) as Snapshot, snap, {
      metadata: { ...snap.metadata, schemaString: '{"type":"struct","fields":[' },
    });
    const cp = await writeCheckpoint(store, broken);
    await rm(path.join(dir, commitPath(0)));
    await expect(Snapshot.load(store)).rejects.toMatchObject({
      code: 'CORRUPT_LOG',
      message: expect.stringMatching(
        new RegExp(`metaData\\.schemaString of ${cp.path.replace(/\./g, '\\.')} is not valid JSON`),
      ),
    });
    // The same in a commit file.
    const { store: store2 } = await tempStore();
    await store2.put(
      commitPath(0),
      new TextEncoder().encode(
        [
          JSON.stringify({ protocol: { minReaderVersion: 1, minWriterVersion: 2 } }),
          JSON.stringify({ metaData: { ...snap.metadata, schemaString: '{oops' } }),
        ].join('\n'),
      ),
    );
    await expect(Snapshot.load(store2)).rejects.toThrow(
      'metaData.schemaString of _delta_log/00000000000000000000.json is not valid JSON',
    );
  });
});
