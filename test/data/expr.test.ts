import { deltaSchemaToArrow } from '../../lib/delta/arrow-schema.js';
import type { StructType } from '../../lib/delta/schema.js';
import { batchFromRows } from '../../lib/data/arrow-build.js';
import { formatFilter, parseFilter, referencedColumns } from '../../lib/data/expr.js';
import { coversFile, evaluateBatch, mightMatch, selectRows } from '../../lib/data/expr-eval.js';
import { isLakehouseError } from '../../lib/errors.js';

const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'id', type: 'long', nullable: true, metadata: {} },
    { name: 'name', type: 'string', nullable: true, metadata: {} },
    { name: 'price', type: 'decimal(10,2)', nullable: true, metadata: {} },
    { name: 'day', type: 'date', nullable: true, metadata: {} },
    { name: 'ts', type: 'timestamp', nullable: true, metadata: {} },
    { name: 'ok', type: 'boolean', nullable: true, metadata: {} },
    {
      name: 'st',
      type: { type: 'struct', fields: [{ name: 'x', type: 'integer', nullable: true, metadata: {} }] },
      nullable: true,
      metadata: {},
    },
  ],
};

const ROWS = [
  { id: 1, name: 'a', price: '1.50', day: '2026-01-01', ts: '2026-01-01T00:00:00Z', ok: true, st: { x: 1 } },
  {
    id: 2,
    name: "it's",
    price: '2.00',
    day: '2026-01-02',
    ts: '2026-01-02T12:00:00.5Z',
    ok: false,
    st: { x: null },
  },
  { id: 3, name: null, price: null, day: null, ts: null, ok: null, st: null },
  {
    id: null,
    name: 'z',
    price: '-3.25',
    day: '2025-12-31',
    ts: '2025-12-31T23:59:59.999999Z',
    ok: true,
    st: { x: 3 },
  },
];
const batch = batchFromRows(deltaSchemaToArrow(SCHEMA), ROWS);

function rows(filter: string): number[] {
  return selectRows(parseFilter(filter), batch);
}

describe('filter parser', () => {
  it('parses the whole grammar and prints it back', () => {
    const e = parseFilter(
      "NOT (a.b >= 3 AND c IN ('x', 'y''z')) OR d IS NOT NULL or `odd name` != -1.5e3 and e not in (1)",
    );
    expect(formatFilter(e)).toBe(
      "((NOT (a.b >= 3 AND c IN ('x', 'y''z')) OR NOT d IS NULL) OR (`odd name` != -1.5e3 AND NOT e IN (1)))",
    );
    expect(referencedColumns(e).map((c) => c.join('.'))).toEqual(['a.b', 'c', 'd', 'odd name', 'e']);
  });

  it('flips literal-first comparisons', () => {
    expect(formatFilter(parseFilter('3 < id'))).toBe('id > 3');
  });

  it.each([
    ['id >', 'expected a literal'],
    ["name = 'x", 'unterminated string at position 8'],
    ['id = 1 id', 'unexpected text at position 8'],
    ['id = other', 'expected a literal (comparing two columns is not supported)'],
    ['id IN ()', 'expected a literal in the IN list'],
  ])('rejects %s', (text, message) => {
    let err: unknown;
    try {
      parseFilter(text);
    } catch (e) {
      err = e;
    }
    expect(isLakehouseError(err, 'INVALID_ARGUMENT')).toBe(true);
    expect((err as Error).message).toContain(message);
  });
});

describe('row evaluation (three-valued)', () => {
  it.each([
    ['id = 1', [0]],
    ['id != 1', [1, 2]],
    ['id >= 2', [1, 2]],
    ['id < 2.5', [0, 1]],
    ["name = 'it''s'", [1]],
    ["name > 'a'", [1, 3]],
    ['name IS NULL', [2]],
    ['id IS NOT NULL AND name IS NOT NULL', [0, 1]],
    ['price > 1.5', [1]],
    ['price = 1.500', [0]],
    ['price < 0', [3]],
    ["day = '2026-01-02'", [1]],
    ["day < DATE '2026-01-01'", [3]],
    ["ts > '2026-01-02T12:00:00.4Z'", [1]],
    ["ts >= '2025-12-31T23:59:59.999999Z' AND ts < '2026-01-01T00:00:00Z'", [3]],
    ['ok', [0, 3]],
    ['NOT ok', [1]],
    ['st.x = 3', [3]],
    ['st.x IS NULL', [1, 2]],
    ['id IN (1, 3, NULL)', [0, 2]],
    ['NOT id IN (1, 3)', [1]],
    ['id = 1 OR id IS NULL', [0, 3]],
    ['NOT (id = 1)', [1, 2]],
  ])('%s', (filter, expected) => {
    expect(rows(filter)).toEqual(expected);
  });

  it('keeps unknown (null) apart from false', () => {
    expect(Array.from(evaluateBatch(parseFilter('id > 1'), batch))).toEqual([0, 1, 1, -1]);
  });

  it('names a missing column and a bad literal', () => {
    expect(() => rows('nope = 1')).toThrow(
      'filter: no column nope; columns are id, name, price, day, ts, ok, st',
    );
    expect(() => rows("day = 'soon'")).toThrow("filter: 'soon' is not a valid date for column day");
  });
});

describe('file skipping', () => {
  const table = { schema: SCHEMA, partitionColumns: ['day'] };
  const stats = JSON.stringify({
    numRecords: 10,
    minValues: { id: 10, name: 'b', price: 1.5, ts: '2026-01-01T00:00:00.000Z', st: { x: 5 } },
    maxValues: { id: 20, name: 'm', price: 9.99, ts: '2026-01-01T00:00:00.123Z', st: { x: 5 } },
    nullCount: { id: 0, name: 2, price: 0, ts: 0, ok: 10, st: { x: 0 } },
  });
  const add = { partitionValues: { day: '2026-01-01' }, stats };
  const nullPart = { partitionValues: { day: null }, stats };

  it.each([
    ["day = '2026-01-01'", true, true],
    ["day = '2026-01-02'", false, false],
    ['day IS NULL', false, false],
    ['id = 15', true, false],
    ['id = 25', false, false],
    ['id < 10', false, false],
    ['id >= 10', true, true],
    ['id > 9 AND id < 21', true, true],
    ['id != 15', true, false],
    ["name = 'a'", false, false],
    ["name <= 'b'", true, false],
    ['name IS NULL', true, false],
    ['ok IS NOT NULL', false, false],
    ['ok IS NULL', true, true],
    ['price > 9.99', false, false],
    ['price >= 9.99', true, false],
    ['price IN (0.5, 2)', true, false],
    ["ts > '2026-01-01T00:00:00.123400Z'", true, false],
    ["ts > '2026-01-01T00:00:00.124Z'", false, false],
    ['st.x = 5', true, true],
    ['st.x = 6', false, false],
    ['NOT id = 15', true, false],
    ["id = 25 OR day = '2026-01-01'", true, true],
  ])('%s: might match %s, covers %s', (filter, might, covers) => {
    const e = parseFilter(filter);
    expect(mightMatch(e, add, table)).toBe(might);
    expect(coversFile(e, add, table)).toBe(covers);
  });

  it('treats a null partition as null', () => {
    expect(mightMatch(parseFilter('day IS NULL'), nullPart, table)).toBe(true);
    expect(mightMatch(parseFilter("day != '2026-01-01'"), nullPart, table)).toBe(false);
  });

  it('cannot skip a file without statistics', () => {
    expect(
      mightMatch(parseFilter('id = 25'), { partitionValues: { day: '2026-01-01' }, stats: null }, table),
    ).toBe(true);
  });
});
