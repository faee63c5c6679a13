import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { readParquetActions } from '../../lib/delta/checkpoint-read.js';
import type { Action, ActionName } from '../../lib/delta/actions.js';

/**
 * The direct checkpoint decoder (checkpoint-parquet.ts) returns exactly the actions parquet-wasm
 * and Arrow give, for every checkpoint and sidecar Parquet file in ../shared/delta-golden
 * (written by Spark and delta-rs: snappy and uncompressed, dictionary and plain pages, stats_parsed).
 */
const GOLDEN = path.resolve('../shared/delta-golden');
const COLUMNS: ActionName[] = [
  'add',
  'remove',
  'metaData',
  'protocol',
  'txn',
  'domainMetadata',
  'checkpointMetadata',
  'sidecar',
];

function findCheckpoints(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) findCheckpoints(p, out);
    else if (e.endsWith('.parquet') && (dir.endsWith('_delta_log') || dir.endsWith('_sidecars'))) out.push(p);
  }
  return out;
}

async function all(gen: AsyncGenerator<Action[]>): Promise<Action[]> {
  const out: Action[] = [];
  for await (const batch of gen) out.push(...batch);
  return out;
}

describe('direct checkpoint decoder', () => {
  if (!existsSync(GOLDEN)) {
    test('golden corpus present', () => {
      throw new Error(`${GOLDEN} is missing: the decoder cannot be compared with parquet-wasm`);
    });
    return;
  }
  const files = findCheckpoints(GOLDEN);

  test('the corpus has checkpoint files to compare', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  test.each(files.map((f) => [path.relative(GOLDEN, f), f]))('%s', async (_name, file) => {
    const store = new LocalObjectStore(path.dirname(file));
    const name = path.basename(file);
    const direct = await all(readParquetActions(store, name, undefined, COLUMNS));
    const arrow = await all(readParquetActions(store, name, undefined, COLUMNS, { decoder: 'arrow' }));
    expect(direct).toEqual(arrow);
  });
});
