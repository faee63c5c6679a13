import { rmSync } from 'node:fs';
import { Snapshot } from '../../lib/delta/snapshot.js';
import { parseFilter } from '../../lib/data/expr.js';
import { candidateRowRanges } from '../../lib/data/page-prune.js';
import { ParquetSource } from '../../lib/data/parquet-io.js';
import { writeTable } from '../../lib/ops/write.js';
import { readRows, rowsBatch, tempTable } from '../ops/helpers.js';

const SCHEMA = 'id:long not null,k:integer,name:string,day:date,v:double,p:string';
const N = 100_000;

function row(i: number): Record<string, unknown> {
  return {
    id: i,
    // nulls only in the first 30,000 rows
    k: i < 30_000 && i % 3 === 0 ? null : i % 7,
    name: `n${String(i).padStart(6, '0')}`,
    day: new Date(Date.UTC(2026, 0, 1) + Math.floor(i / 5_000) * 86_400_000).toISOString().slice(0, 10),
    v: i / 10,
    p: i % 2 ? 'odd' : 'even',
  };
}

describe('row group and page pruning inside a Parquet file', () => {
  const { dir, store } = tempTable('page-prune');
  const all = Array.from({ length: N }, (_, i) => row(i));
  let everything: string[] = [];

  beforeAll(async () => {
    const batches = [];
    for (let i = 0; i < N; i += 10_000) batches.push(rowsBatch(SCHEMA, all.slice(i, i + 10_000)));
    // 3 row groups of at most 40,000 rows; arrow-rs cuts pages at about 20,000 rows.
    await writeTable(store, batches, { partitionBy: ['p'], rowGroupRows: 40_000 });
    // Every row, read without a filter: the expected rows are these, filtered in JavaScript.
    everything = await readRows(store, { columns: ['id', 'k', 'name', 'day', 'p'] });
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function ranges(filter: string, part = 'even') {
    const snap = await Snapshot.load(store);
    const add = snap.activeFiles().find((a) => a.partitionValues.p === part)!;
    const src = await ParquetSource.open(store, add.path, add.size);
    try {
      const table = {
        schema: snap.schema,
        partitionColumns: snap.partitionColumns,
        mode: snap.columnMappingMode,
      };
      return await candidateRowRanges(src, parseFilter(filter), table, add.partitionValues);
    } finally {
      src.close();
    }
  }

  it('writes a page index and skips the pages and row groups the statistics rule out', async () => {
    // Each partition file holds 50,000 rows: row groups [0,40000) and [40000,50000).
    const r = (await ranges('id >= 20000 AND id < 20010'))!;
    expect(r).toBeDefined();
    const rows = r.reduce((n, x) => n + x.limit, 0);
    expect(rows).toBeLessThan(25_000);
    expect(r.every((x) => x.rowGroup === 0)).toBe(true);
    // Row 10,000 of the "even" file holds id 20,000: it must be inside a range.
    expect(r.some((x) => x.rowGroup === 0 && x.offset <= 10_000 && x.offset + x.limit > 10_000)).toBe(true);
    // Only the second row group can hold ids ≥ 80,000.
    expect((await ranges('id >= 80000'))!.every((x) => x.rowGroup === 1)).toBe(true);
    // A partition value that rules the file out leaves nothing to read.
    expect(await ranges("p = 'odd' AND id < 5")).toEqual([]);
  });

  it('does not prune on columns whose statistics it does not trust (doubles), or when nothing can go', async () => {
    expect(await ranges('v > 5000.0')).toBeUndefined();
    expect(await ranges('id >= 0')).toBeUndefined();
  });

  const filters = [
    'id >= 20000 AND id < 20010',
    'id = 99999',
    'id < 3 OR id > 99996',
    'k IS NULL AND id > 25000',
    'k = 3 AND id BETWEEN_PLACEHOLDER',
    "name >= 'n050000' AND name < 'n050005'",
    "day = '2026-01-05'",
    "day > '2026-01-19' AND k = 0",
    'NOT (id >= 5)',
    'id IN (7, 70000, 99998)',
    "id > 49990 AND p = 'even'",
  ].map((f) => f.replace('id BETWEEN_PLACEHOLDER', 'id >= 29990 AND id < 30020'));

  it.each(filters)(
    'returns exactly the rows a full read filters to: %s',
    async (filter) => {
      const got = await readRows(store, { filter, columns: ['id', 'k', 'name', 'day', 'p'] });
      const pruned = await readRows(store, { filter, columns: ['id'] });
      const expected = everything.filter((t) => matches(filter, JSON.parse(t) as Record<string, unknown>));
      expect(expected.length).toBeGreaterThan(0);
      expect(got).toEqual(expected);
      expect(pruned.length).toBe(expected.length);
    },
    60_000,
  );
});

/** The filters above, evaluated in JavaScript on canonical rows. */
function matches(filter: string, r: Record<string, unknown>): boolean {
  const id = r.id as number;
  const k = r.k as number | null;
  const name = r.name as string;
  const day = r.day as string;
  const p = r.p as string;
  switch (filter) {
    case 'id >= 20000 AND id < 20010':
      return id >= 20000 && id < 20010;
    case 'id = 99999':
      return id === 99999;
    case 'id < 3 OR id > 99996':
      return id < 3 || id > 99996;
    case 'k IS NULL AND id > 25000':
      return k === null && id > 25000;
    case 'k = 3 AND id >= 29990 AND id < 30020':
      return k === 3 && id >= 29990 && id < 30020;
    case "name >= 'n050000' AND name < 'n050005'":
      return name >= 'n050000' && name < 'n050005';
    case "day = '2026-01-05'":
      return day === '2026-01-05';
    case "day > '2026-01-19' AND k = 0":
      return day > '2026-01-19' && k === 0;
    case 'NOT (id >= 5)':
      return !(id >= 5);
    case 'id IN (7, 70000, 99998)':
      return [7, 70000, 99998].includes(id);
    case "id > 49990 AND p = 'even'":
      return id > 49990 && p === 'even';
  }
  throw new Error(`no JavaScript version of ${filter}`);
}
