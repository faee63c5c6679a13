/**
 * The maintenance plan and its approval in `reconcileTable`, on real tables on local disk: the
 * priced plan is handed to `onPlan` before anything runs; under `maintenance.approval: Manual`
 * compaction waits until its plan id is approved, a wrong or stale id approves nothing,
 * checkpoints never wait; the memory limit reaches OPTIMIZE; health is measured after the pass.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deltaSchemaToArrow } from '../../lib/delta/arrow-schema.js';
import { Snapshot } from '../../lib/delta/snapshot.js';
import { batchFromRows } from '../../lib/data/arrow-build.js';
import { writeTable } from '../../lib/ops/write.js';
import {
  approvalOf,
  formatTableReport,
  reconcileTable,
  statusOf,
  type ApprovalState,
  type MaintenancePlanSummary,
} from '../../lib/reconcile/index.js';
import { localStorageRoots, parseLakeTable, type LakeTable } from '../../lib/spec/index.js';
import { LocalObjectStore } from '../../lib/storage/index.js';

let tmp: string;
beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'approval-'));
});
afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

function table(name: string, maintenance: Record<string, unknown> = {}): LakeTable {
  return parseLakeTable(
    {
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
          ],
        },
        partitionBy: ['day'],
        maintenance: { compaction: { triggers: { smallFileCount: 4 } }, ...maintenance },
      },
    },
    name,
  );
}

const roots = () => localStorageRoots(path.join(tmp, 'data'));
// Compaction plans its memory from the process's RSS, and this process is the jest worker (which
// may hold gigabytes from earlier suites): the limit sits 4 GiB above what the worker holds now.
const MEMORY_LIMIT = Math.ceil(process.memoryUsage().rss / 1024 ** 3) * 1024 ** 3 + 4 * 1024 ** 3;
const storeOf = (name: string) => new LocalObjectStore(path.join(tmp, 'data', 'curated', 't', name));

async function append(name: string, n: number, day = '2026-11-01'): Promise<void> {
  const store = storeOf(name);
  const schema = deltaSchemaToArrow((await Snapshot.load(store)).schema);
  for (let i = 0; i < n; i++)
    await writeTable(
      store,
      batchFromRows(schema, [
        { id: i, day },
        { id: i + 1000, day },
      ]),
    );
}

async function version(name: string): Promise<number> {
  return (await Snapshot.load(storeOf(name))).version;
}

describe('maintenance plan and approval', () => {
  test('Automatic: the priced plan reaches onPlan before compaction runs, with the memory limit', async () => {
    const t = table('auto');
    await reconcileTable(t, { roots: roots() });
    await append('auto', 5);
    const seen: { plan: MaintenancePlanSummary; approval: ApprovalState; versionAtPlan: number }[] = [];
    const report = await reconcileTable(t, {
      roots: roots(),
      memoryLimit: MEMORY_LIMIT,
      onPlan: async (plan, approval) => {
        seen.push({ plan, approval, versionAtPlan: await version('auto') });
      },
    });
    expect(seen).toHaveLength(1);
    const { plan, approval, versionAtPlan } = seen[0]!;
    expect(versionAtPlan).toBe(5); // nothing ran yet when the plan was shown
    expect(plan.id).toMatch(/^[0-9a-f]{16}$/);
    expect(plan.version).toBe(5);
    expect(plan.actions.map((a) => a.kind)).toEqual(['compaction']);
    expect(plan.compaction).toMatchObject({ filesToRewrite: 5, filesToWrite: 1, memoryLimit: MEMORY_LIMIT });
    expect(plan.requests.read).toBe(10); // footer and row groups of each input file
    expect(plan.needsApproval).toBe(true);
    expect(approval).toEqual({
      mode: 'Automatic',
      state: 'automatic',
      planId: plan.id,
      ignoredApprovals: [],
    });
    expect(report.outcome).toBe('maintained');
    const compaction = report.actions.find((a) => a.kind === 'compaction')!;
    expect(compaction).toMatchObject({
      status: 'done',
      metrics: { filesRemoved: 5, memoryLimit: MEMORY_LIMIT },
    });
    expect(compaction.metrics!.estimatedPeakMemory).toBeGreaterThan(0);
    expect(report.maintenancePlan?.id).toBe(plan.id);
    expect(statusOf(report).lastCompaction).toMatchObject({ result: 'Succeeded', filesRemoved: 5 });
    // Health after the pass, from what reconcile observed: one file, nothing small to merge.
    expect(report.health).toMatchObject({ listed: false, orphans: null });
    expect(report.health!.measures).toMatchObject({ numFiles: 1, smallFiles: 1, version: 6 });
    expect(report.health!.measures.lastOptimize).not.toBeNull();
    expect(report.health!.score).toBeGreaterThan(90);
  });

  test('Manual: nothing is rewritten until the current plan id is approved; wrong and stale ids do nothing', async () => {
    const t = table('manual', { approval: 'Manual' });
    await reconcileTable(t, { roots: roots() });
    await append('manual', 5);
    const planned: MaintenancePlanSummary[] = [];
    const onPlan = (p: MaintenancePlanSummary): void => void planned.push(p);

    const waiting = await reconcileTable(t, { roots: roots(), onPlan });
    expect(waiting.outcome).toBe('unchanged');
    expect(waiting.approval).toMatchObject({ mode: 'Manual', state: 'awaiting' });
    expect(waiting.actions).toEqual([
      expect.objectContaining({ kind: 'compaction', status: 'awaiting-approval' }),
    ]);
    expect(waiting.next.find((n) => n.kind === 'compaction')).toMatchObject({
      due: true,
      waitingForApproval: true,
    });
    expect(statusOf(waiting).lastCompaction).toBeUndefined();
    expect(planned).toHaveLength(1); // shown even though it waits
    const firstId = waiting.maintenancePlan!.id;
    expect(await version('manual')).toBe(5);
    const text = formatTableReport(waiting).join('\n');
    expect(text).toContain(`--approve ${firstId}`);
    expect(text).toContain(`waiting    compaction: waits for approval of plan ${firstId}`);

    // The same table gives the same id on the next pass (the id is not the time).
    const again = await reconcileTable(t, { roots: roots(), approvals: ['0123456789abcdef'] });
    expect(again.maintenancePlan!.id).toBe(firstId);
    expect(again.approval).toMatchObject({ state: 'awaiting', ignoredApprovals: ['0123456789abcdef'] });
    expect(await version('manual')).toBe(5);

    // New small files change the plan: the old id is stale and approves nothing.
    await append('manual', 2);
    const stale = await reconcileTable(t, { roots: roots(), approvals: [firstId] });
    expect(stale.maintenancePlan!.id).not.toBe(firstId);
    expect(stale.maintenancePlan!.compaction!.filesToRewrite).toBe(7);
    expect(stale.approval).toMatchObject({ state: 'awaiting', ignoredApprovals: [firstId] });
    expect(await version('manual')).toBe(7);

    // The current id runs it.
    const approved = await reconcileTable(t, { roots: roots(), approvals: [stale.maintenancePlan!.id] });
    expect(approved.approval).toMatchObject({ state: 'approved', planId: stale.maintenancePlan!.id });
    expect(approved.outcome).toBe('maintained');
    expect(approved.actions.find((a) => a.kind === 'compaction')).toMatchObject({
      status: 'done',
      metrics: { filesRemoved: 7, filesAdded: 1 },
    });
    expect(await version('manual')).toBe(8);
  });

  test('Manual: a due checkpoint runs while compaction waits; a dry run marks nothing as waiting', async () => {
    const t = table('mixed', { approval: 'Manual', checkpoint: { interval: 3 } });
    await reconcileTable(t, { roots: roots() });
    await append('mixed', 4);
    const dry = await reconcileTable(t, { roots: roots(), dryRun: true });
    expect(dry.outcome).toBe('planned');
    expect(dry.actions.map((a) => [a.kind, a.status])).toEqual([
      ['compaction', 'planned'],
      ['checkpoint', 'planned'],
    ]);
    expect(dry.maintenancePlan!.checkpoint).toEqual({ commitsSinceCheckpoint: 5 });

    const r = await reconcileTable(t, { roots: roots() });
    expect(r.actions.map((a) => [a.kind, a.status])).toEqual([
      ['compaction', 'awaiting-approval'],
      ['checkpoint', 'done'],
    ]);
    expect(r.outcome).toBe('maintained');
    const snap = await Snapshot.load(storeOf('mixed'));
    expect(snap.logSegment.checkpoint?.version).toBe(4);
    expect(snap.version).toBe(4); // no OPTIMIZE commit
  });

  test('approvalOf: Automatic ignores approvals; Manual with only a checkpoint due needs none', () => {
    const plan = (needsApproval: boolean) =>
      ({ id: 'aaaaaaaaaaaaaaaa', needsApproval }) as unknown as MaintenancePlanSummary;
    expect(approvalOf('Automatic', plan(true), ['x']).state).toBe('automatic');
    expect(approvalOf('Manual', plan(false)).state).toBe('not-needed');
    expect(approvalOf('Manual', plan(true), [' aaaaaaaaaaaaaaaa ']).state).toBe('approved');
    expect(approvalOf('Manual', plan(true), ['']).state).toBe('awaiting');
    expect(approvalOf('Manual', null).state).toBe('not-needed');
  });

  test('orphans are listed when the policy says so, and reused in between', async () => {
    const t = table('orphans');
    await reconcileTable(t, { roots: roots() });
    await append('orphans', 1);
    await fs.writeFile(
      path.join(tmp, 'data', 'curated', 't', 'orphans', 'day=2026-11-01', 'stray.parquet'),
      'x'.repeat(100),
    );
    const first = await reconcileTable(t, {
      roots: roots(),
      orphans: { previous: null, maxAgeMs: 3_600_000 },
    });
    expect(first.health).toMatchObject({
      listed: true,
      orphans: { orphanFiles: 1, orphanBytes: 100, reclaimableFiles: 0 },
    });
    const second = await reconcileTable(t, {
      roots: roots(),
      orphans: { previous: first.health!.orphans, maxAgeMs: 3_600_000 },
    });
    expect(second.health).toMatchObject({ listed: false, orphans: first.health!.orphans });
    expect(second.health!.measures.orphanBytes).toBe(100);
  });
});
