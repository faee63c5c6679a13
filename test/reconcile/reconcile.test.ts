/**
 * reconcileAll / reconcileTable on real tables on local disk: creation, idempotence, additive
 * evolution applied, destructive changes refused with the table untouched, failures confined to
 * their table, dry runs, compaction and vacuum carried out.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { deltaSchemaToArrow } from '../../lib/delta/arrow-schema.js';
import { Snapshot } from '../../lib/delta/snapshot.js';
import { batchFromRows } from '../../lib/data/arrow-build.js';
import { scanTable } from '../../lib/ops/scan.js';
import { writeTable } from '../../lib/ops/write.js';
import { tableHistory } from '../../lib/ops/history.js';
import {
  formatSummary,
  reconcileAll,
  reconcileTable,
  statusOf,
  type ReconcileSummary,
} from '../../lib/reconcile/index.js';
import { localStorageRoots, parseLakeTable, StatusSchema } from '../../lib/spec/index.js';
import { LocalObjectStore } from '../../lib/storage/index.js';

let tmp: string;
beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'reconcile-'));
});
afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

function definition(name: string, spec: Record<string, unknown> = {}): Record<string, any> {
  return {
    apiVersion: 'lakehouse.dev/v1alpha1',
    kind: 'LakeTable',
    metadata: { name },
    spec: {
      zone: 'curated',
      path: `t/${name}`,
      schema: {
        columns: [
          { name: 'id', type: 'long', nullable: false },
          { name: 'day', type: 'date', nullable: false },
          { name: 'amount', type: 'decimal(10,2)' },
          { name: 'info', type: 'struct<source:string>' },
        ],
      },
      partitionBy: ['day'],
      maintenance: { compaction: { triggers: { smallFileCount: 5 } } },
      ...spec,
    },
  };
}

async function writeDefs(dir: string, defs: Record<string, any>[]): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  for (const d of defs) await fs.writeFile(path.join(dir, `${d.metadata.name}.yaml`), stringify(d));
}

function storeOf(name: string): LocalObjectStore {
  return new LocalObjectStore(path.join(tmp, 'data', 'curated', 't', name));
}

/** `n` small appends of 10 rows over two days. */
async function appendRows(name: string, n: number): Promise<void> {
  const store = storeOf(name);
  const schema = deltaSchemaToArrow((await Snapshot.load(store)).schema);
  for (let i = 0; i < n; i++) {
    const rows = Array.from({ length: 10 }, (_, k) => ({
      id: i * 10 + k,
      day: k % 2 ? '2026-11-01' : '2026-11-02',
      amount: `${k}.50`,
      info: { source: 'test' },
    }));
    await writeTable(store, batchFromRows(schema, rows));
  }
}

async function logListing(name: string): Promise<string[]> {
  const dir = path.join(tmp, 'data', 'curated', 't', name, '_delta_log');
  const out: string[] = [];
  for (const f of (await fs.readdir(dir)).sort()) {
    const st = await fs.stat(path.join(dir, f));
    out.push(`${f} ${st.size} ${st.mtimeMs}`);
  }
  return out;
}

const roots = () => localStorageRoots(path.join(tmp, 'data'));
const reconcile = (defs: string, extra: { dryRun?: boolean; concurrency?: number } = {}) =>
  reconcileAll(defs, { roots: roots(), ...extra });
const outcomes = (s: ReconcileSummary) => Object.fromEntries(s.reports.map((r) => [r.name, r.outcome]));

describe('reconcile on local disk', () => {
  test('creates absent tables, compacts when due, then a second pass does nothing and says so', async () => {
    const defs = path.join(tmp, 'defs');
    await writeDefs(defs, [definition('alpha'), definition('beta')]);

    const first = await reconcile(defs);
    expect(outcomes(first)).toEqual({ alpha: 'created', beta: 'created' });
    const snap = await Snapshot.load(storeOf('alpha'));
    expect(snap.partitionColumns).toEqual(['day']);
    expect(snap.schema.fields.map((f) => f.name)).toEqual(['id', 'day', 'amount', 'info']);

    await appendRows('alpha', 6); // 6 appends x 2 days = 12 small files
    const second = await reconcile(defs);
    expect(outcomes(second)).toEqual({ alpha: 'maintained', beta: 'unchanged' });
    const alpha = second.reports.find((r) => r.name === 'alpha')!;
    expect(alpha.actions).toEqual([
      expect.objectContaining({
        kind: 'compaction',
        status: 'done',
        summary: 'merged 12 files into 2 in 2 partitions',
      }),
    ]);
    expect(alpha.before).toMatchObject({ version: 6, files: 12, smallFiles: 12 });
    expect(alpha.after).toMatchObject({ version: 7, files: 2, smallFiles: 2 });
    expect(alpha.next.find((n) => n.kind === 'compaction')!.reason).toMatch(/nothing to merge/);
    // The same report as LakeTable status fields, valid for the CRD's status schema.
    const status = statusOf(alpha, new Date('2026-11-25T12:00:00Z'));
    expect(StatusSchema.parse(status)).toEqual(status);
    expect(status).toMatchObject({
      version: 7,
      files: 2,
      smallFiles: 2,
      lastReconcileTime: '2026-11-25T12:00:00.000Z',
      lastCompaction: { result: 'Succeeded', version: 7, filesRemoved: 12, filesAdded: 2 },
    });
    expect(status.nextVacuum).toMatch(/T00:00:00.000Z$/);
    expect(status.lastVacuum).toBeUndefined();
    // The rows are all still there.
    let rows = 0;
    for await (const b of await scanTable(storeOf('alpha'))) rows += b.numRows;
    expect(rows).toBe(60);

    const before = [await logListing('alpha'), await logListing('beta')];
    const third = await reconcile(defs);
    expect(outcomes(third)).toEqual({ alpha: 'unchanged', beta: 'unchanged' });
    expect(third.reports.every((r) => r.actions.length === 0)).toBe(true);
    expect([await logListing('alpha'), await logListing('beta')]).toEqual(before);
    expect(formatSummary(third)).toMatch(/^Nothing to do: all 2 tables match their definitions/);
  });

  test('additive evolution: a new column and a new nested field are added, data kept', async () => {
    const defs = path.join(tmp, 'defs');
    await writeDefs(defs, [definition('alpha')]);
    await reconcile(defs);
    await appendRows('alpha', 1);
    const d = definition('alpha');
    d.spec.schema.columns.push({ name: 'channel', type: 'string', comment: 'sales channel' });
    d.spec.schema.columns[3].type = 'struct<source:string,batch:long>';
    await writeDefs(defs, [d]);

    const s = await reconcile(defs);
    const r = s.reports[0]!;
    expect(r.outcome).toBe('changed');
    expect(r.actions).toEqual([
      expect.objectContaining({ kind: 'addColumns', status: 'done', summary: 'added info.batch, channel' }),
    ]);
    const snap = await Snapshot.load(storeOf('alpha'));
    expect(snap.schema.fields.map((f) => f.name)).toEqual(['id', 'day', 'amount', 'info', 'channel']);
    expect(snap.schema.fields[4]).toMatchObject({ nullable: true, metadata: { comment: 'sales channel' } });
    expect(JSON.stringify(snap.schema.fields[3]!.type)).toMatch(/"batch"/);
    const ops = (await tableHistory(storeOf('alpha'), { limit: 1 }))[0]!;
    expect(ops.operation).toBe('ADD COLUMNS');
    // Old rows read the new columns as null.
    let rows = 0;
    for await (const b of await scanTable(storeOf('alpha'))) {
      rows += b.numRows;
      expect(b.getChild('channel')!.nullCount).toBe(b.numRows);
    }
    expect(rows).toBe(10);
    expect(outcomes(await reconcile(defs))).toEqual({ alpha: 'unchanged' });
  });

  test('a property declared later is set on the table, with a protocol upgrade when it needs a feature', async () => {
    const defs = path.join(tmp, 'defs');
    await writeDefs(defs, [definition('alpha')]);
    await reconcile(defs);
    // Writer version 2 already covers appendOnly: only the property changes.
    await writeDefs(defs, [definition('alpha', { properties: { 'delta.appendOnly': 'true' } })]);
    const r = (await reconcile(defs)).reports[0]!;
    expect(r.outcome).toBe('changed');
    expect(r.actions[0]).toMatchObject({
      kind: 'setProperties',
      status: 'done',
      summary: 'set delta.appendOnly=true',
    });
    let snap = await Snapshot.load(storeOf('alpha'));
    expect(snap.properties['delta.appendOnly']).toBe('true');
    expect(snap.protocol).toEqual({ minReaderVersion: 1, minWriterVersion: 2 });
    // Deletion vectors need reader 3 / writer 7 with the feature listed (and the legacy ones kept).
    await writeDefs(defs, [
      definition('alpha', {
        properties: { 'delta.appendOnly': 'true', 'delta.enableDeletionVectors': 'true' },
      }),
    ]);
    expect((await reconcile(defs)).reports[0]!.outcome).toBe('changed');
    snap = await Snapshot.load(storeOf('alpha'));
    expect(snap.protocol).toMatchObject({ minReaderVersion: 3, minWriterVersion: 7 });
    expect(snap.protocol.readerFeatures).toEqual(['deletionVectors']);
    expect(snap.protocol.writerFeatures).toEqual(
      expect.arrayContaining(['appendOnly', 'invariants', 'deletionVectors']),
    );
    await appendRows('alpha', 1); // still writable
    expect(outcomes(await reconcile(defs))).toEqual({ alpha: 'unchanged' });
  });

  test.each([
    [
      'a dropped column',
      (d: Record<string, any>) => d.spec.schema.columns.splice(2, 1),
      /amount .*dropping a column is destructive/,
    ],
    [
      'a type change',
      (d: Record<string, any>) => (d.spec.schema.columns[2].type = 'double'),
      /amount is decimal\(10,2\) in the table, double in the spec/,
    ],
    [
      'a partition change',
      (d: Record<string, any>) => (d.spec.partitionBy = []),
      /partitioned by \[day\], the spec says \[\]/,
    ],
  ])(
    '%s is refused and the table left untouched, even with maintenance due',
    async (_what, change, reason) => {
      const defs = path.join(tmp, 'defs');
      await writeDefs(defs, [definition('alpha')]);
      await reconcile(defs);
      await appendRows('alpha', 4); // 8 small files: compaction due at 5
      const before = await logListing('alpha');
      const d = definition('alpha');
      change(d);
      await writeDefs(defs, [d]);

      const s = await reconcile(defs);
      const r = s.reports[0]!;
      expect(r.outcome).toBe('refused');
      expect(r.actions).toEqual([]);
      expect(r.refusals[0]!.reason).toMatch(reason);
      expect(await logListing('alpha')).toEqual(before);
    },
  );

  test('one bad table does not stop the others', async () => {
    const defs = path.join(tmp, 'defs');
    await writeDefs(defs, [definition('a-good'), definition('b-corrupt'), definition('d-good')]);
    // An invalid definition (a partition column that is not a column) ...
    const invalid = definition('c-invalid', { partitionBy: ['nope'] });
    await fs.writeFile(path.join(defs, 'c-invalid.yaml'), stringify(invalid));
    // ... and a table whose log is not JSON.
    const corrupt = path.join(tmp, 'data', 'curated', 't', 'b-corrupt', '_delta_log');
    await fs.mkdir(corrupt, { recursive: true });
    await fs.writeFile(path.join(corrupt, '00000000000000000000.json'), 'this is not a commit\n');

    // ... and a second definition of a-good's table under another file.
    await fs.writeFile(path.join(defs, 'e-dup.yaml'), stringify(definition('a-good')));

    const s = await reconcile(defs, { concurrency: 2 });
    expect(s.reports.map((r) => [r.name, r.outcome])).toEqual([
      ['a-good', 'created'],
      ['b-corrupt', 'failed'],
      ['c-invalid', 'failed'],
      ['d-good', 'created'],
      ['a-good', 'failed'],
    ]);
    expect(s.reports[4]!.error!.message).toMatch(/already defined by .*a-good\.yaml/);
    expect(s.reports.find((r) => r.name === 'b-corrupt')!.error!.code).toBe('CORRUPT_LOG');
    const inv = s.reports.find((r) => r.name === 'c-invalid')!;
    expect(inv.error!.code).toBe('INVALID_SPEC');
    expect(inv.error!.message).toMatch(/spec.partitionBy/);
    expect(s.counts).toMatchObject({ created: 2, failed: 3 });
  });

  test('--dry-run plans and reports but changes nothing', async () => {
    const defs = path.join(tmp, 'defs');
    await writeDefs(defs, [definition('alpha')]);
    const dry = await reconcile(defs, { dryRun: true });
    expect(dry.reports[0]).toMatchObject({
      outcome: 'planned',
      actions: [expect.objectContaining({ kind: 'create', status: 'planned' })],
    });
    await expect(fs.stat(path.join(tmp, 'data'))).rejects.toThrow();

    await reconcile(defs);
    await appendRows('alpha', 3);
    const before = await logListing('alpha');
    const dry2 = await reconcile(defs, { dryRun: true });
    expect(dry2.reports[0]!.actions).toEqual([
      expect.objectContaining({ kind: 'compaction', status: 'planned' }),
    ]);
    expect(await logListing('alpha')).toEqual(before);
  });

  test('vacuum runs when its schedule fired, with the table\u2019s retention; checkpoint when due', async () => {
    const table = parseLakeTable(
      definition('alpha', { maintenance: { checkpoint: { interval: 3 }, compaction: { enabled: false } } }),
      'test',
    );
    const r0 = await reconcileTable(table, { roots: roots() });
    expect(r0.outcome).toBe('created');
    await appendRows('alpha', 2); // versions 1, 2: three commits and no checkpoint
    // Two days later the @daily vacuum schedule has fired since the table was created.
    const later = Date.now() + 2 * 86_400_000;
    const r = await reconcileTable(table, { roots: roots(), now: later });
    expect(r.outcome).toBe('maintained');
    expect(r.actions.map((a) => [a.kind, a.status])).toEqual([
      ['checkpoint', 'done'],
      ['vacuum', 'done'],
    ]);
    expect(r.actions[1]!.summary).toMatch(/deleted 0 unreferenced files \(retention 168h\)/);
    const ops = (await tableHistory(storeOf('alpha'))).map((h) => h.operation);
    expect(ops.slice(0, 2)).toEqual(['VACUUM END', 'VACUUM START']);
    expect((await Snapshot.load(storeOf('alpha'))).logSegment.checkpoint?.version).toBe(2);
  });
});
