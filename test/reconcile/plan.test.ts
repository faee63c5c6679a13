/**
 * plan(): the reconcile rules, pure (no I/O): creation, each schema-evolution path, each
 * maintenance trigger, the window, suspend and the vacuum retention floor.
 */
import type { StructType } from '../../lib/delta/schema.js';
import { plan, type PlannedAction, type TableState } from '../../lib/reconcile/index.js';
import { parseLakeTable, type LakeTable } from '../../lib/spec/index.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Wednesday 2026-11-25 12:00 UTC. */
const NOW = Date.UTC(2026, 10, 25, 12, 0);

function doc(spec: Record<string, unknown> = {}, name = 'orders'): LakeTable {
  return parseLakeTable(
    {
      apiVersion: 'lakehouse.dev/v1alpha1',
      kind: 'LakeTable',
      metadata: { name },
      spec: {
        zone: 'curated',
        path: 'sales/orders',
        schema: {
          columns: [
            { name: 'order_id', type: 'string', nullable: false },
            { name: 'amount', type: 'decimal(12,2)' },
            { name: 'day', type: 'date', nullable: false },
            { name: 'customer', type: 'struct<id:string,segment:string>' },
            { name: 'items', type: 'array<struct<sku:string,qty:integer>>' },
          ],
        },
        partitionBy: ['day'],
        ...spec,
      },
    },
    'test',
  );
}

/** The Delta schema the table would have after a create from `doc()`. */
function tableSchema(): StructType {
  return {
    type: 'struct',
    fields: [
      { name: 'order_id', type: 'string', nullable: false, metadata: {} },
      { name: 'amount', type: 'decimal(12,2)', nullable: true, metadata: {} },
      { name: 'day', type: 'date', nullable: false, metadata: {} },
      {
        name: 'customer',
        type: {
          type: 'struct',
          fields: [
            { name: 'id', type: 'string', nullable: true, metadata: {} },
            { name: 'segment', type: 'string', nullable: true, metadata: {} },
          ],
        },
        nullable: true,
        metadata: {},
      },
      {
        name: 'items',
        type: {
          type: 'array',
          // Another engine wrote containsNull false: not a difference a spec can express.
          containsNull: false,
          elementType: {
            type: 'struct',
            fields: [
              { name: 'sku', type: 'string', nullable: true, metadata: {} },
              { name: 'qty', type: 'integer', nullable: true, metadata: {} },
            ],
          },
        },
        nullable: true,
        metadata: {},
      },
    ],
  };
}

/** An observed table matching doc(), healthy, created two hours ago and vacuumed an hour ago. */
function state(over: Partial<TableState> = {}): TableState {
  return {
    location: '/lake/curated/sales/orders',
    version: 12,
    timestamp: NOW - HOUR,
    createdTime: NOW - 2 * HOUR,
    schema: tableSchema(),
    partitionColumns: ['day'],
    properties: {},
    protocol: { minReaderVersion: 1, minWriterVersion: 2 },
    files: 10,
    bytes: 10 * 128 * 1024 * 1024,
    smallFiles: 0,
    compactableSmallFiles: 0,
    smallFileThresholdBytes: 96 * 1024 * 1024,
    tombstones: 0,
    lastCheckpointVersion: 10,
    lastCheckpointTime: NOW - HOUR,
    commitsSinceCheckpoint: 2,
    lastCompactionTime: null,
    lastVacuumTime: NOW - HOUR,
    historyFrom: NOW - 2 * HOUR,
    openLatestMs: 5,
    retentionMs: 168 * HOUR,
    removedFilesInRetention: 0,
    removedBytesInRetention: 0,
    ...over,
  };
}

const kinds = (actions: readonly PlannedAction[]) => actions.map((a) => a.kind);

describe('plan: creation and an unchanged table', () => {
  test('no table: create it with the declared schema, partitioning and properties, nothing else', () => {
    const p = plan(doc({ properties: { 'delta.appendOnly': 'true' } }), null, NOW);
    expect(kinds(p.actions)).toEqual(['create']);
    const create = p.actions[0] as Extract<PlannedAction, { kind: 'create' }>;
    expect(create.schema.fields.map((f) => f.name)).toEqual([
      'order_id',
      'amount',
      'day',
      'customer',
      'items',
    ]);
    expect(create.partitionBy).toEqual(['day']);
    expect(create.properties).toEqual({ 'delta.appendOnly': 'true' });
    expect(p.refusals).toEqual([]);
  });

  test('a table that matches its definition and needs no maintenance: no action, and why not', () => {
    const p = plan(doc(), state(), NOW);
    expect(p.actions).toEqual([]);
    expect(p.refusals).toEqual([]);
    expect(p.notDue.map((n) => n.kind)).toEqual(['compaction', 'checkpoint', 'vacuum']);
    // Vacuum (default @daily) is next due at midnight after the last vacuum.
    const vacuum = p.notDue.find((n) => n.kind === 'vacuum')!;
    expect(vacuum.at).toBe(Date.UTC(2026, 10, 26));
    expect(p.wakeAt).toBe(Date.UTC(2026, 10, 26));
  });

  test('column order and case do not count as changes', () => {
    const s = tableSchema();
    s.fields.reverse();
    s.fields[0]!.name = 'ITEMS';
    expect(plan(doc(), state({ schema: s }), NOW).actions).toEqual([]);
  });
});

describe('plan: schema evolution', () => {
  test('a new nullable top-level column is added (additive is the default)', () => {
    const d = doc();
    d.spec.schema.columns.push({ name: 'channel', type: 'string' });
    const p = plan(d, state(), NOW);
    expect(kinds(p.actions)).toEqual(['addColumns']);
    expect(p.actions[0]).toMatchObject({ columns: ['channel'] });
    expect(p.actions[0]!.reason).toMatch(/channel \(string\)/);
  });

  test('new nested fields are added: in a struct and in an array of structs', () => {
    const d = doc({ schemaEvolution: 'additive' });
    d.spec.schema.columns[3]!.type = 'struct<id:string,segment:string,tier:integer>';
    d.spec.schema.columns[4]!.type = 'array<struct<sku:string,qty:integer,discount:decimal(5,2)>>';
    const p = plan(d, state(), NOW);
    expect(kinds(p.actions)).toEqual(['addColumns']);
    expect(p.actions[0]).toMatchObject({ columns: ['customer.tier', 'items.element.discount'] });
  });

  test('schemaEvolution none: a new column is refused and the table left untouched', () => {
    const d = doc({ schemaEvolution: 'none' });
    d.spec.schema.columns.push({ name: 'channel', type: 'string' });
    const p = plan(d, state({ smallFiles: 80, compactableSmallFiles: 80 }), NOW);
    expect(p.actions).toEqual([]);
    expect(p.refusals).toEqual([expect.objectContaining({ change: 'schemaEvolutionNone', path: 'channel' })]);
    expect(p.refusals[0]!.reason).toMatch(/schemaEvolution: additive/);
  });

  test.each([
    [
      'a dropped column',
      (d: LakeTable) => d.spec.schema.columns.splice(1, 1),
      'dropColumn',
      'amount',
      /dropping a column is destructive/,
    ],
    [
      'a type change',
      (d: LakeTable) => (d.spec.schema.columns[1]!.type = 'double'),
      'typeChange',
      'amount',
      /decimal\(12,2\) in the table, double in the spec/,
    ],
    [
      'a nested type change',
      (d: LakeTable) => (d.spec.schema.columns[4]!.type = 'array<struct<sku:string,qty:long>>'),
      'typeChange',
      'items.element.qty',
      /integer in the table, long in the spec/,
    ],
    [
      'a nested field dropped',
      (d: LakeTable) => (d.spec.schema.columns[3]!.type = 'struct<id:string>'),
      'dropColumn',
      'customer.segment',
      /dropping a column/,
    ],
    [
      'a nullability change',
      (d: LakeTable) => (d.spec.schema.columns[1]!.nullable = false),
      'nullabilityChange',
      'amount',
      /nullable in the table, NOT NULL in the spec/,
    ],
    [
      'a new NOT NULL column',
      (d: LakeTable) => d.spec.schema.columns.push({ name: 'channel', type: 'string', nullable: false }),
      'newRequiredColumn',
      'channel',
      /declare it nullable/,
    ],
    [
      'a partitioning change',
      (d: LakeTable) => (d.spec.partitionBy = ['order_id']),
      'partitionChange',
      '',
      /partitioned by \[day\], the spec says \[order_id\]/,
    ],
    [
      'a column-mapping change',
      (d: LakeTable) => (d.spec.properties = { 'delta.columnMapping.mode': 'name' }),
      'columnMappingChange',
      'properties.delta.columnMapping.mode',
      /does not change column mapping/,
    ],
  ])('%s is refused with a reason, and nothing else runs', (_what, change, kind, path, reason) => {
    const d = doc();
    change(d);
    // Maintenance would be due; a refusal leaves the table untouched all the same.
    const p = plan(d, state({ smallFiles: 80, compactableSmallFiles: 80, commitsSinceCheckpoint: 50 }), NOW);
    expect(p.actions).toEqual([]);
    expect(p.refusals).toEqual([expect.objectContaining({ change: kind, path })]);
    expect(p.refusals[0]!.reason).toMatch(reason);
  });

  test('declared properties that differ are set; undeclared table properties are left alone', () => {
    const d = doc({ properties: { 'delta.appendOnly': 'true', 'delta.checkpointInterval': '10' } });
    const p = plan(
      d,
      state({ properties: { 'delta.checkpointInterval': '10', 'delta.enableChangeDataFeed': 'true' } }),
      NOW,
    );
    expect(kinds(p.actions)).toEqual(['setProperties']);
    expect(p.actions[0]).toMatchObject({
      properties: { 'delta.appendOnly': 'true' },
      previous: { 'delta.appendOnly': null },
    });
  });
});

describe('plan: maintenance triggers', () => {
  test('compaction: small-file count reached', () => {
    const d = doc({ maintenance: { compaction: { triggers: { smallFileCount: 20 } } } });
    const p = plan(d, state({ files: 100, smallFiles: 20, compactableSmallFiles: 20 }), NOW);
    expect(kinds(p.actions)).toEqual(['compaction']);
    expect(p.actions[0]!.reason).toMatch(/20 of 100 files below 96 MiB \(trigger: 20 small files\)/);
    expect(p.actions[0]).toMatchObject({
      targetFileSizeBytes: 128 * 1024 * 1024,
      minFileSizeBytes: 96 * 1024 * 1024,
      zOrderBy: [],
    });
  });

  test('compaction: one below the count and below the ratio is not due, and says what would make it due', () => {
    const d = doc({ maintenance: { compaction: { triggers: { smallFileCount: 20, smallFileRatio: 0.5 } } } });
    const p = plan(d, state({ files: 100, smallFiles: 19, compactableSmallFiles: 19 }), NOW);
    expect(p.actions).toEqual([]);
    expect(p.notDue.find((n) => n.kind === 'compaction')!.reason).toMatch(
      /19 of 100 files .* due at 20 small files or a share of 0.5/,
    );
  });

  test('compaction: small-file ratio reached (with at least two small files)', () => {
    const d = doc({ maintenance: { compaction: { triggers: { smallFileRatio: 0.4 } } } });
    expect(kinds(plan(d, state({ files: 5, smallFiles: 2, compactableSmallFiles: 2 }), NOW).actions)).toEqual(
      ['compaction'],
    );
    // One small file of two is a share of 0.5, but one file has nothing to merge with.
    expect(plan(d, state({ files: 2, smallFiles: 1, compactableSmallFiles: 0 }), NOW).actions).toEqual([]);
  });

  test('compaction: small files that sit one per partition are not compacted (nothing to merge)', () => {
    const d = doc({ maintenance: { compaction: { triggers: { smallFileCount: 5 } } } });
    const p = plan(d, state({ files: 30, smallFiles: 30, compactableSmallFiles: 0 }), NOW);
    expect(p.actions).toEqual([]);
    expect(p.notDue.find((n) => n.kind === 'compaction')!.reason).toMatch(/nothing to merge/);
  });

  test('compaction: the schedule fired since the last compaction', () => {
    const d = doc({ maintenance: { compaction: { schedule: '0 6 * * *' } } });
    // Last compaction yesterday 06:00; today's 06:00 run has not happened.
    const due = plan(
      d,
      state({ smallFiles: 3, compactableSmallFiles: 3, lastCompactionTime: NOW - 30 * HOUR }),
      NOW,
    );
    expect(kinds(due.actions)).toEqual(['compaction']);
    expect(due.actions[0]!.reason).toMatch(/scheduled run of "0 6 \* \* \*" at 2026-11-25 06:00 UTC/);
    // Compacted today at 06:00: next run tomorrow 06:00, which is when to look again.
    const notDue = plan(
      d,
      state({ smallFiles: 3, compactableSmallFiles: 3, lastCompactionTime: NOW - 6 * HOUR }),
      NOW,
    );
    expect(notDue.actions).toEqual([]);
    expect(notDue.notDue.find((n) => n.kind === 'compaction')!.at).toBe(Date.UTC(2026, 10, 26, 6));
  });

  test('compaction disabled: never planned', () => {
    const d = doc({ maintenance: { compaction: { enabled: false } } });
    const p = plan(d, state({ files: 100, smallFiles: 100, compactableSmallFiles: 100 }), NOW);
    expect(p.actions).toEqual([]);
    expect(p.notDue.find((n) => n.kind === 'compaction')!.reason).toMatch(/disabled/);
  });

  test('checkpoint: due when the commits since the last checkpoint reach the interval', () => {
    const d = doc({ maintenance: { checkpoint: { interval: 5 } } });
    expect(plan(d, state({ commitsSinceCheckpoint: 4 }), NOW).actions).toEqual([]);
    const p = plan(d, state({ commitsSinceCheckpoint: 5 }), NOW);
    expect(kinds(p.actions)).toEqual(['checkpoint']);
    expect(p.actions[0]!.reason).toMatch(/5 commits since the last checkpoint/);
  });

  test('checkpoint: the interval defaults to delta.checkpointInterval', () => {
    const d = doc({ properties: { 'delta.checkpointInterval': '3' } });
    const p = plan(
      d,
      state({ properties: { 'delta.checkpointInterval': '3' }, commitsSinceCheckpoint: 3 }),
      NOW,
    );
    expect(kinds(p.actions)).toEqual(['checkpoint']);
  });

  test('vacuum: due when its schedule fired since the last vacuum; never vacuumed counts from creation', () => {
    const d = doc({ maintenance: { vacuum: { schedule: '0 3 * * *' } } });
    expect(kinds(plan(d, state({ lastVacuumTime: NOW - DAY }), NOW).actions)).toEqual(['vacuum']);
    expect(plan(d, state({ lastVacuumTime: NOW - HOUR }), NOW).actions).toEqual([]);
    expect(kinds(plan(d, state({ lastVacuumTime: null, createdTime: NOW - 2 * DAY }), NOW).actions)).toEqual([
      'vacuum',
    ]);
    expect(plan(d, state({ lastVacuumTime: null, createdTime: NOW - HOUR }), NOW).actions).toEqual([]);
  });

  test('vacuum: the retention is the spec\u2019s, never below the table\u2019s deletedFileRetentionDuration', () => {
    const d = doc({ maintenance: { vacuum: { retention: '336h' } } });
    const mine = plan(d, state({ lastVacuumTime: NOW - 2 * DAY }), NOW).actions[0];
    expect(mine).toMatchObject({ kind: 'vacuum', retentionHours: 336 });
    // The table (set by someone else) keeps removed files 30 days: vacuum keeps them as long.
    const longer = plan(
      d,
      state({
        lastVacuumTime: NOW - 2 * DAY,
        properties: { 'delta.deletedFileRetentionDuration': 'interval 30 days' },
      }),
      NOW,
    ).actions[0];
    expect(longer).toMatchObject({ kind: 'vacuum', retentionHours: 720 });
  });

  test('the maintenance window: due maintenance waits until it opens, then runs', () => {
    const d = doc({
      maintenance: {
        window: { schedule: '0 1 * * *', duration: '4h', timeZone: 'Europe/Berlin' },
        compaction: { triggers: { smallFileCount: 10 } },
      },
    });
    const busy = state({ smallFiles: 40, compactableSmallFiles: 40 });
    const closed = plan(d, busy, NOW);
    expect(closed.actions).toEqual([]);
    const waiting = closed.notDue.find((n) => n.kind === 'compaction')!;
    expect(waiting.waitingForWindow).toBe(true);
    // 01:00 in Berlin is 00:00 UTC in November.
    expect(waiting.at).toBe(Date.UTC(2026, 10, 26, 0));
    // The window's time zone is every schedule's: vacuum's @daily fires at midnight in Berlin.
    expect(closed.notDue.find((n) => n.kind === 'vacuum')!.at).toBe(Date.UTC(2026, 10, 25, 23));
    expect(closed.wakeAt).toBe(Date.UTC(2026, 10, 25, 23));
    const open = plan(d, busy, Date.UTC(2026, 10, 26, 2, 30));
    expect(kinds(open.actions)).toEqual(['compaction', 'vacuum']);
    // After the four hours the window is closed again.
    expect(plan(d, busy, Date.UTC(2026, 10, 26, 4, 0)).actions).toEqual([]);
  });

  test('suspend: no maintenance, but declared schema changes are still applied', () => {
    const d = doc({ maintenance: { suspend: true } });
    d.spec.schema.columns.push({ name: 'channel', type: 'string' });
    const p = plan(
      d,
      state({
        smallFiles: 100,
        compactableSmallFiles: 100,
        commitsSinceCheckpoint: 99,
        lastVacuumTime: null,
        createdTime: NOW - 9 * DAY,
      }),
      NOW,
    );
    expect(kinds(p.actions)).toEqual(['addColumns']);
    expect(p.notDue.map((n) => n.reason)).toEqual([
      'suspended (maintenance.suspend: true)',
      'suspended (maintenance.suspend: true)',
      'suspended (maintenance.suspend: true)',
    ]);
  });

  test('everything due at once runs in order: schema, properties, compaction, checkpoint, vacuum', () => {
    const d = doc({ properties: { 'delta.appendOnly': 'true' } });
    d.spec.schema.columns.push({ name: 'channel', type: 'string' });
    const p = plan(
      d,
      state({
        smallFiles: 60,
        compactableSmallFiles: 60,
        files: 60,
        commitsSinceCheckpoint: 10,
        lastVacuumTime: NOW - 2 * DAY,
      }),
      NOW,
    );
    expect(kinds(p.actions)).toEqual(['addColumns', 'setProperties', 'compaction', 'checkpoint', 'vacuum']);
  });

  test('plan is deterministic: the same inputs give the same plan', () => {
    const d = doc();
    expect(plan(d, state({ smallFiles: 60, compactableSmallFiles: 60 }), NOW)).toEqual(
      plan(d, state({ smallFiles: 60, compactableSmallFiles: 60 }), NOW),
    );
  });
});
