import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { peerBatch, type PeerField } from '../harness/peers.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { readParquetActions } from '../../lib/delta/checkpoint-read.js';
import type { Action, ActionName } from '../../lib/delta/actions.js';

/**
 * The direct checkpoint decoder (checkpoint-parquet.ts) returns exactly the actions parquet-wasm
 * and Arrow give, for checkpoints delta-rs and Spark write at test time and, where it exists, for
 * every checkpoint and sidecar Parquet file in ../shared/delta-golden (snappy and uncompressed,
 * dictionary and plain pages, stats_parsed).
 */
const GOLDEN = path.resolve('../shared/delta-golden');

const schema: PeerField[] = [
  { name: 'id', type: 'long' },
  { name: 'region', type: 'string' },
  { name: 'price', type: 'decimal(10,2)' },
  { name: 'at', type: 'timestamp' },
  {
    name: 'point',
    type: {
      type: 'struct',
      fields: [
        { name: 'x', type: 'integer', nullable: true, metadata: {} },
        { name: 'label', type: 'string', nullable: true, metadata: {} },
      ],
    },
  },
  { name: 'tags', type: { type: 'array', elementType: 'string', containsNull: true } },
];
const rows = [
  {
    id: 1,
    region: 'eu west',
    price: '12.30',
    at: '2024-01-02T03:04:05.123456Z',
    point: { x: 7, label: 'a' },
    tags: ['x', null],
  },
  { id: 2, region: null, price: null, at: null, point: null, tags: null },
  {
    id: 3,
    region: 'us',
    price: '-0.01',
    at: '1970-01-01T00:00:00Z',
    point: { x: null, label: 'ü' },
    tags: [],
  },
  {
    id: 4,
    region: 'us',
    price: '99999999.99',
    at: '2038-01-19T03:14:08Z',
    point: { x: -1, label: null },
    tags: ['y'],
  },
];
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

/** Both decoders, on every checkpoint and sidecar Parquet file below `dir`: the same actions. */
function decodersAgree(root: () => string): void {
  test('every checkpoint file decodes to the same actions with both decoders', async () => {
    const files = findCheckpoints(root());
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const store = new LocalObjectStore(path.dirname(file));
      const name = path.basename(file);
      const direct = await all(readParquetActions(store, name, undefined, COLUMNS));
      const arrow = await all(readParquetActions(store, name, undefined, COLUMNS, { decoder: 'arrow' }));
      expect(direct.length).toBeGreaterThan(0);
      expect({ file: path.relative(root(), file), actions: direct }).toEqual({
        file: path.relative(root(), file),
        actions: arrow,
      });
    }
  });
}

/**
 * Checkpoints written at test time by delta-rs and by Spark (so every clone runs this): a
 * partitioned table with nested, null and decimal values, appends and a delete (remove actions).
 */
describe('direct checkpoint decoder on checkpoints delta-rs and Spark write now', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lk-cp-decode-'));
    for (const engine of ['delta-rs', 'spark'] as const) {
      const table = path.join(dir, engine);
      const outcomes = await peerBatch(engine, [
        { op: 'write', table, schema, rows: rows.slice(0, 2), partitionBy: ['region'] },
        { op: 'write', table, schema, rows: rows.slice(2), partitionBy: ['region'] },
        { op: 'delete', table, predicate: 'id = 1' },
        { op: 'checkpoint', table },
      ]);
      outcomes.forEach((o, i) => {
        if (!o.ok) throw new Error(`${engine} step ${i} failed: ${o.error}`);
      });
    }
  }, 900_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  for (const engine of ['delta-rs', 'spark']) {
    describe(engine, () => decodersAgree(() => path.join(dir, engine)));
  }
});

describe('direct checkpoint decoder on the golden corpus', () => {
  if (!existsSync(GOLDEN)) {
    test('golden corpus: NOT RUN', () => {
      const banner = '!'.repeat(100);
      console.warn(
        `${banner}\n!!! The golden checkpoint decoder comparison was NOT run: ${GOLDEN} does not exist.\n` +
          `!!! It needs the shared fixture folder next to the project (../shared/delta-golden).\n${banner}`,
      );
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
