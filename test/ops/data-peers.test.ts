import { rmSync } from 'node:fs';
import { Snapshot } from '../../lib/delta/snapshot.js';
import { createTable } from '../../lib/ops/create.js';
import { deleteRows } from '../../lib/ops/delete.js';
import { writeTable } from '../../lib/ops/write.js';
import { ALL_TYPES, ALL_TYPES_ROWS } from '../data/fixtures.js';
import { canonicalSort, peerBatch, type PeerRequest } from '../harness/peers.js';
import { readRows, rowsBatch, tempTable } from './helpers.js';

/**
 * Tables written by our create/write/delete are read back by delta-rs and by Spark with the same
 * canonical rows as our own scan; and a table delta-rs wrote, after our append and delete, still
 * reads the same in all three.
 */
const dirs: string[] = [];
function table(label: string) {
  const t = tempTable(label);
  dirs.push(t.dir);
  return t;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const SCHEMA = 'id:long not null,name:string,day:date,amount:decimal(12,2),ts:timestamp';
function rows(from: number, n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return {
      id: i,
      name: i % 7 === 0 ? null : ['a', 'b/c', 'd e', 'f=g', 'ü%'][i % 5],
      day: i % 11 === 0 ? null : `2026-01-0${(i % 3) + 1}`,
      amount: `${i}.${String(i % 100).padStart(2, '0')}`,
      ts: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}.${String(i).padStart(6, '0').slice(-6)}Z`,
    };
  });
}

describe('tables we write read the same in delta-rs and Spark', () => {
  const tables: { name: string; dir: string; ours: string[] }[] = [];
  let dvFiles = 0;

  beforeAll(async () => {
    // 1. every Delta type, nested ones included
    const allTypes = table('peer-types');
    await writeTable(allTypes.store, rowsBatch(ALL_TYPES, ALL_TYPES_ROWS));
    // 2. partitioned by a string with characters to escape and nulls, several files, zstd
    const parts = table('peer-parts');
    await createTable(parts.store, { schema: SCHEMA, partitionBy: ['name'] });
    await writeTable(parts.store, rowsBatch(SCHEMA, rows(0, 300)), {
      compression: 'zstd',
      targetFileSize: 4000,
    });
    await writeTable(parts.store, rowsBatch(SCHEMA, rows(300, 50)));
    // 3. overwrite by replaceWhere on a partition, then delete by partition and by row
    const changed = table('peer-changed');
    await writeTable(changed.store, rowsBatch(SCHEMA, rows(0, 200)), { partitionBy: ['day'] });
    await writeTable(
      changed.store,
      rowsBatch(
        SCHEMA,
        rows(1000, 30).map((r) => ({ ...r, day: '2026-01-02' })),
      ),
      {
        mode: 'overwrite',
        replaceWhere: "day = '2026-01-02'",
      },
    );
    await deleteRows(changed.store, { predicate: 'day IS NULL' });
    await deleteRows(changed.store, { predicate: "id > 100 AND name = 'b/c'" });
    // 4. column mapping (name mode) and an added column
    const mapped = table('peer-mapped');
    await createTable(mapped.store, {
      schema: 'id:long,name:string',
      properties: { 'delta.columnMapping.mode': 'name' },
    });
    await writeTable(mapped.store, rowsBatch('id:long,name:string', [{ id: 1, name: 'x' }]));
    await writeTable(
      mapped.store,
      rowsBatch('id:long,name:string,score:double', [{ id: 2, name: 'y', score: 0.5 }]),
      {
        mergeSchema: true,
      },
    );
    // 5. column mapping (id mode): Parquet field ids, nested struct fields included
    const mappedId = table('peer-mapped-id');
    const idSchema = {
      type: 'struct' as const,
      fields: [
        { name: 'id', type: 'long', nullable: true, metadata: {} },
        {
          name: 'point',
          type: {
            type: 'struct' as const,
            fields: [
              { name: 'x', type: 'double', nullable: true, metadata: {} },
              { name: 'y', type: 'double', nullable: true, metadata: {} },
            ],
          },
          nullable: true,
          metadata: {},
        },
      ],
    };
    await createTable(mappedId.store, { schema: idSchema, properties: { 'delta.columnMapping.mode': 'id' } });
    await writeTable(
      mappedId.store,
      rowsBatch(idSchema, [
        { id: 1, point: { x: 1.5, y: -2 } },
        { id: 2, point: null },
      ]),
    );
    // 6. deletion vectors: rows deleted twice from the same files, DVs merged
    const dv = table('peer-dv');
    await createTable(dv.store, {
      schema: SCHEMA,
      partitionBy: ['day'],
      properties: { 'delta.enableDeletionVectors': 'true' },
    });
    await writeTable(dv.store, rowsBatch(SCHEMA, rows(0, 120)));
    await deleteRows(dv.store, { predicate: "name = 'a'" });
    await deleteRows(dv.store, { predicate: 'id < 10 OR amount > 100' });
    dvFiles = (await Snapshot.load(dv.store)).activeFiles().filter((a) => a.deletionVector).length;
    // 7. partitioned by timestamp (UTC, ISO 8601 values) and timestamp_ntz
    const tsParts = table('peer-ts-parts');
    await writeTable(
      tsParts.store,
      rowsBatch('id:long,ts:timestamp,n:timestamp_ntz', [
        { id: 1, ts: '2026-01-01T10:20:30.123456Z', n: '2026-01-01T10:20:30.5' },
        { id: 2, ts: null, n: null },
        { id: 3, ts: '1969-12-31T23:59:59Z', n: '1900-01-01T00:00:00' },
      ]),
      { partitionBy: ['ts', 'n'] },
    );
    for (const [name, t] of Object.entries({ allTypes, parts, changed, mapped, mappedId, dv, tsParts })) {
      tables.push({ name, dir: t.dir, ours: await readRows(t.store) });
    }
  }, 120_000);

  it.each(['delta-rs', 'spark'] as const)(
    '%s reads every table with our rows',
    async (engine) => {
      const requests: PeerRequest[] = tables.map((t) => ({ op: 'read', table: t.dir }));
      const results = await peerBatch(engine, requests);
      results.forEach((r, i) => {
        const t = tables[i]!;
        if (!r.ok) throw new Error(`${engine} cannot read ${t.name}: ${r.error}`);
        expect({ table: t.name, rows: canonicalSort((r as { rows: string[] }).rows) }).toEqual({
          table: t.name,
          rows: t.ours,
        });
      });
      expect(tables.find((t) => t.name === 'changed')!.ours.length).toBeGreaterThan(50);
      expect(dvFiles).toBeGreaterThan(0);
    },
    900_000,
  );
});

describe('a table delta-rs wrote, changed by us', () => {
  it('reads the same in delta-rs, Spark and our scan after our append and delete', async () => {
    const t = table('peer-rs');
    const [w] = await peerBatch('delta-rs', [
      {
        op: 'write',
        table: t.dir,
        schema: [
          { name: 'id', type: 'long' },
          { name: 'name', type: 'string' },
          { name: 'day', type: 'date' },
        ],
        partitionBy: ['day'],
        rows: rows(0, 40).map((r) => ({ id: r.id, name: r.name, day: r.day })),
      },
    ] as const);
    expect(w.ok).toBe(true);
    await writeTable(
      t.store,
      rowsBatch(
        'id:long,name:string,day:date',
        rows(40, 20).map((r) => ({ id: r.id, name: r.name, day: r.day })),
      ),
    );
    await deleteRows(t.store, { predicate: "name = 'a' OR day = '2026-01-03'" });
    const ours = await readRows(t.store);
    expect(ours.length).toBeGreaterThan(20);
    for (const engine of ['delta-rs', 'spark'] as const) {
      const [r] = await peerBatch(engine, [{ op: 'read', table: t.dir }] as const);
      if (!r.ok) throw new Error(`${engine}: ${r.error}`);
      expect(canonicalSort(r.rows)).toEqual(ours);
    }
  }, 900_000);
});
