import { deltaSchemaToArrow } from '../../lib/delta/arrow-schema.js';
import { batchFromRows } from '../../lib/data/arrow-build.js';
import { canonicalRows } from '../../lib/data/arrow-values.js';
import { Snapshot } from '../../lib/delta/index.js';
import { openStore, type ObjectStore, type StorageOptions } from '../../lib/storage/index.js';
import { checkpoint } from '../../lib/ops/checkpoint.js';
import { createTable, resolveSchema } from '../../lib/ops/create.js';
import { optimize } from '../../lib/ops/optimize.js';
import { restore } from '../../lib/ops/restore.js';
import { scanTable, type ScanOptions } from '../../lib/ops/scan.js';
import { vacuum } from '../../lib/ops/vacuum.js';
import { writeTable } from '../../lib/ops/write.js';

const schema = resolveSchema('id:long,name:string');
const arrowSchema = deltaSchemaToArrow(schema);
const batch = (ids: number[]) => [
  batchFromRows(
    arrowSchema,
    ids.map((id) => ({ id, name: `n${id}` })),
  ),
];
const expected = (ids: number[]) =>
  ids.map((id) => JSON.stringify({ id, name: `n${id}` })).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

async function rows(store: ObjectStore, options: ScanOptions = {}): Promise<string[]> {
  const out: string[] = [];
  for await (const b of await scanTable(store, options)) out.push(...canonicalRows(b));
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function exists(store: ObjectStore, path: string): Promise<boolean> {
  return store.head(path).then(
    () => true,
    () => false,
  );
}

/**
 * The whole life of a table on one store, through the table operations: create, append,
 * overwrite, time travel, checkpoint, optimize, vacuum, restore.
 */
export function tableLifecycleTest(
  name: string,
  target: () => { uri: string; options: StorageOptions },
): void {
  test(`${name}: create, append, overwrite, time travel, checkpoint, optimize, vacuum, restore`, async () => {
    const { uri, options } = target();
    const store = await openStore(uri, options);
    try {
      expect((await createTable(store, { schema })).version).toBe(0);
      expect((await writeTable(store, batch([1, 2, 3]))).version).toBe(1);
      expect((await writeTable(store, batch([4, 5]))).version).toBe(2);
      expect(await rows(store)).toEqual(expected([1, 2, 3, 4, 5]));
      // A moment between versions 2 and 3, a second clear of each: Azure's Last-Modified (the
      // commit time without in-commit timestamps) has whole seconds.
      await sleep(1100);
      const afterV2 = Date.now();
      await sleep(1100);

      expect((await writeTable(store, batch([10, 11]), { mode: 'overwrite' })).version).toBe(3);
      expect(await rows(store)).toEqual(expected([10, 11]));
      // Time travel: by version and by timestamp.
      expect(await rows(store, { version: 1 })).toEqual(expected([1, 2, 3]));
      expect(await rows(store, { timestamp: afterV2 })).toEqual(expected([1, 2, 3, 4, 5]));
      expect(await rows(store, { timestamp: new Date(afterV2).toISOString() })).toEqual(
        expected([1, 2, 3, 4, 5]),
      );

      // Checkpoint: the table then loads from it, with the same rows.
      expect((await checkpoint(store)).version).toBe(3);
      expect(await exists(store, '_delta_log/00000000000000000003.checkpoint.parquet')).toBe(true);
      expect(
        JSON.parse(new TextDecoder().decode(await store.get('_delta_log/_last_checkpoint'))),
      ).toMatchObject({
        version: 3,
      });
      const fromCheckpoint = await Snapshot.load(store);
      expect(fromCheckpoint.logSegment.checkpoint?.version).toBe(3);
      expect(await rows(store)).toEqual(expected([10, 11]));

      // Optimize: the two small files become one, the rows stay.
      expect((await writeTable(store, batch([12]))).version).toBe(4);
      expect((await Snapshot.load(store)).numFiles).toBe(2);
      const opt = await optimize(store);
      expect(opt).toMatchObject({ version: 5, numFilesRemoved: 2, numFilesAdded: 1 });
      expect((await Snapshot.load(store)).numFiles).toBe(1);
      expect(await rows(store)).toEqual(expected([10, 11, 12]));

      // Vacuum with zero retention deletes every data file no longer referenced; rows stay.
      const active = new Set(
        (await Snapshot.load(store)).activeFiles().map((a) => decodeURIComponent(a.path)),
      );
      const unreferenced: string[] = [];
      for await (const m of store.list('')) {
        if (!m.path.startsWith('_delta_log/') && !active.has(m.path)) unreferenced.push(m.path);
      }
      expect(unreferenced).toHaveLength(4); // versions 1, 2, 3 and 4 each wrote one
      const vac = await vacuum(store, { retentionHours: 0, force: true });
      expect(vac.deletedPaths.sort()).toEqual(unreferenced.sort());
      for (const f of unreferenced) expect(await exists(store, f)).toBe(false);
      expect(await rows(store)).toEqual(expected([10, 11, 12]));
      expect(await rows(store, { version: 1 }).catch((e: { code?: string }) => e.code)).toBe('NOT_FOUND');

      // Restore to the optimized version 5: a later append is undone, as a new commit.
      const appended = await writeTable(store, batch([13]));
      expect(await rows(store)).toEqual(expected([10, 11, 12, 13]));
      const restored = await restore(store, { version: 5 });
      expect(restored.version).toBe(appended.version + 1);
      expect(await rows(store)).toEqual(expected([10, 11, 12]));
    } finally {
      await store.close?.();
    }
  });
}
