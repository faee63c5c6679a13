import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalObjectStore } from '../../lib/storage/local.js';
import {
  Snapshot,
  Transaction,
  type AddAction,
  type MetadataAction,
  type ProtocolAction,
} from '../../lib/delta/index.js';

export const SCHEMA = JSON.stringify({
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: true, metadata: {} },
    { name: 'day', type: 'string', nullable: true, metadata: {} },
  ],
});

export async function tempStore(prefix = 'lk-delta-'): Promise<{ dir: string; store: LocalObjectStore }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, store: new LocalObjectStore(dir) };
}

export function metadata(overrides: Partial<MetadataAction> = {}): MetadataAction {
  return {
    id: randomUUID(),
    format: { provider: 'parquet', options: {} },
    schemaString: SCHEMA,
    partitionColumns: [],
    configuration: {},
    createdTime: Date.now(),
    ...overrides,
  };
}

/** Create a table (version 0) and return its snapshot. */
export async function createTable(
  store: LocalObjectStore,
  meta: Partial<MetadataAction> = {},
  protocol?: ProtocolAction,
): Promise<Snapshot> {
  const tx = new Transaction(store, null, { operation: 'CREATE TABLE' });
  tx.addActions([...(protocol ? [{ protocol }] : []), { metaData: metadata(meta) }]);
  await tx.commit();
  return Snapshot.load(store);
}

/** An add action for a (fake) data file. */
export function add(p: string, extra: Partial<AddAction> = {}): AddAction {
  return {
    path: p,
    partitionValues: {},
    size: 100,
    modificationTime: Date.now(),
    dataChange: true,
    stats: JSON.stringify({ numRecords: 1 }),
    ...extra,
  };
}

/** Commit a blind append of the given files. */
export async function append(store: LocalObjectStore, ...paths: string[]): Promise<number> {
  const snap = await Snapshot.load(store);
  const tx = new Transaction(store, snap, { operation: 'WRITE', operationParameters: { mode: 'Append' } });
  tx.addActions(paths.map((p) => ({ add: add(p) })));
  return (await tx.commit()).version;
}
