/**
 * What happens to a table's data when its LakeTable is deleted: `Retain` leaves every file;
 * `Delete` removes every object under the table's location (data files and `_delta_log/`). The
 * finalizer is removed only after this returned without an error.
 */
import { rm } from 'node:fs/promises';
import { LAKETABLE_DEFAULTS, tableLocation, type StorageRoots } from '../../lib/spec/index.js';
import { openStore, type StorageOptions } from '../../lib/storage/index.js';
import { parseLocation } from '../../lib/storage/uri.js';
import type { KubeLakeTable } from './types.js';

export interface CleanupResult {
  readonly policy: 'Retain' | 'Delete';
  readonly location: string;
  readonly filesDeleted: number;
}

const BATCH = 1000;

export async function cleanUpTable(
  table: KubeLakeTable,
  roots: StorageRoots,
  storageOptions: StorageOptions,
): Promise<CleanupResult> {
  const policy = table.spec.deletionPolicy ?? LAKETABLE_DEFAULTS.deletionPolicy;
  const location = tableLocation(table, roots);
  if (policy === 'Retain') return { policy, location, filesDeleted: 0 };
  const store = await openStore(location, storageOptions);
  let filesDeleted = 0;
  try {
    let batch: string[] = [];
    for await (const meta of store.list('')) {
      batch.push(meta.path);
      if (batch.length >= BATCH) {
        await store.deleteMany(batch);
        filesDeleted += batch.length;
        batch = [];
      }
    }
    if (batch.length > 0) {
      await store.deleteMany(batch);
      filesDeleted += batch.length;
    }
  } finally {
    await store.close?.();
  }
  const loc = parseLocation(location);
  // Object stores have no folders; on disk the emptied folders would stay behind.
  if (loc.scheme === 'file') await rm(loc.path, { recursive: true, force: true });
  return { policy, location, filesDeleted };
}
