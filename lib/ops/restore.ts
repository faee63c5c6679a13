import { LakehouseError, isLakehouseError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import {
  canonicalPath,
  dataFilePath,
  fileKey,
  removeFor,
  type Action,
  type AddAction,
} from '../delta/actions.js';
import { assertWritable } from '../delta/features.js';
import { Snapshot, rootPathOf } from '../delta/snapshot.js';
import { Transaction } from '../delta/transaction.js';

/**
 * RESTORE: make the table's latest version read exactly what an older version read, as a new
 * commit (history is kept; time travel to the versions in between still works).
 *
 * - Files active in the target version but not now are re-added; files active now but not in
 *   the target are removed (dataChange true). The schema (metaData) of the target version is
 *   restored; the protocol is never downgraded.
 * - Refused, with the missing paths named, when a file the target version needs was already
 *   deleted by VACUUM: a partial restore would silently lose rows.
 * - The transaction reads the whole table: any concurrent commit makes it fail with a conflict
 *   rather than restore over changes it never saw.
 */
export interface RestoreOptions {
  version?: number;
  /** ISO-8601, Date or ms since the epoch. */
  timestamp?: Date | number | string;
}

export interface RestoreMetrics {
  version: number;
  restoredToVersion: number;
  numRestoredFiles: number;
  numRemovedFiles: number;
  restoredFilesSize: number;
  removedFilesSize: number;
  numOfFilesAfterRestore: number;
  tableSizeAfterRestore: number;
}

export async function restore(store: ObjectStore, options: RestoreOptions): Promise<RestoreMetrics> {
  if ((options.version === undefined) === (options.timestamp === undefined)) {
    throw new LakehouseError('INVALID_ARGUMENT', 'restore: give exactly one of a version or a timestamp');
  }
  const current = await Snapshot.load(store);
  assertWritable(current.protocol, current.metadata);
  const target = await Snapshot.load(
    store,
    options.version !== undefined ? { version: options.version } : { timestamp: options.timestamp },
  );
  if (target.version === current.version) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `restore: the table is already at version ${current.version}`,
    );
  }
  const root = rootPathOf(store);
  const currentKeys = new Map<string, AddAction>();
  for (const a of current.activeFilesIterator()) currentKeys.set(fileKey(a, root), a);
  const toAdd: AddAction[] = [];
  const targetKeys = new Set<string>();
  for (const a of target.activeFilesIterator()) {
    const key = fileKey(a, root);
    targetKeys.add(key);
    if (!currentKeys.has(key)) toAdd.push(a);
  }
  const toRemove = [...currentKeys].filter(([k]) => !targetKeys.has(k)).map(([, a]) => a);

  const missing: string[] = [];
  await Promise.all(
    toAdd.map(async (a) => {
      try {
        await store.head(canonicalPath(dataFilePath(a.path), root));
      } catch (err) {
        if (isLakehouseError(err, 'NOT_FOUND')) missing.push(a.path);
        else throw err;
      }
    }),
  );
  if (missing.length) {
    throw new LakehouseError(
      'UNSAFE_OPERATION',
      `restore: version ${target.version} needs ${missing.length} file(s) that VACUUM already deleted ` +
        `(e.g. ${missing.slice(0, 3).join(', ')}); restore to a newer version`,
    );
  }

  const now = Date.now();
  const actions: Action[] = [
    ...toAdd.map((a) => ({ add: { ...a, dataChange: true, modificationTime: a.modificationTime } })),
    ...toRemove.map((a) => ({ remove: removeFor(a, { deletionTimestamp: now, dataChange: true }) })),
  ];
  // The target's schema comes back; the current protocol and other metadata stay (never downgrade).
  if (target.metadata.schemaString !== current.metadata.schemaString) {
    actions.push({ metaData: { ...current.metadata, schemaString: target.metadata.schemaString } });
  }
  const sum = (xs: AddAction[]): number => xs.reduce((s, a) => s + a.size, 0);
  const metrics = {
    numRestoredFiles: toAdd.length,
    numRemovedFiles: toRemove.length,
    restoredFilesSize: sum(toAdd),
    removedFilesSize: sum(toRemove),
    numOfFilesAfterRestore: target.numFiles,
    tableSizeAfterRestore: target.sizeInBytes,
  };
  const result = await new Transaction(store, current, {
    operation: 'RESTORE',
    operationParameters: {
      version: target.version,
      timestamp: options.timestamp === undefined ? null : String(options.timestamp),
    },
    operationMetrics: metrics,
    readWholeTable: true,
  })
    .addActions(actions)
    .commit();
  return { version: result.version, restoredToVersion: target.version, ...metrics };
}
