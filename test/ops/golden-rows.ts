/**
 * The golden-table row comparison, shared by the jest suite and ad-hoc runs: every Delta table
 * under delta-golden/ at every version, our scan's canonical rows against delta-rs's (Spark's
 * where delta-rs cannot read the version).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { canonicalRows } from '../../lib/data/arrow-values.js';
import { availableVersions } from '../../lib/delta/log-segment.js';
import { isLakehouseError } from '../../lib/errors.js';
import { scanTable } from '../../lib/ops/scan.js';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { canonicalSort, peerBatch, type PeerEngine } from '../harness/peers.js';

export const GOLDEN_ROOT = path.resolve(
  path.dirname(new URL(import.meta.url).pathname),
  '../../../shared/delta-golden',
);

/** Every folder under `root` that holds a `_delta_log` (tables nest inside some folders). */
export function findTables(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (existsSync(path.join(dir, '_delta_log'))) {
      out.push(dir);
      return;
    }
    if (depth > 4) return;
    for (const e of readdirSync(dir).sort()) {
      const p = path.join(dir, e);
      if (!e.startsWith('_') && !e.startsWith('.') && statSync(p).isDirectory()) walk(p, depth + 1);
    }
  };
  walk(root, 0);
  return out;
}

export type Outcome = { ok: true; rows: string[] } | { ok: false; error: string; code?: string };

export interface Case {
  table: string;
  /** -1: the latest (the log's versions could not be listed). */
  version: number;
  ours: Outcome;
  deltaRs?: Outcome;
  spark?: Outcome;
}

async function ourRows(table: string, version: number | undefined): Promise<Outcome> {
  const store = new LocalObjectStore(table);
  try {
    const scan = await scanTable(store, version === undefined ? {} : { version });
    const rows: string[] = [];
    for await (const b of scan) rows.push(...canonicalRows(b));
    return { ok: true, rows: canonicalSort(rows) };
  } catch (err) {
    return {
      ok: false,
      error: String((err as Error)?.message ?? err),
      ...(isLakehouseError(err) ? { code: err.code } : {}),
    };
  }
}

/** The versions to compare for a table: every one its log still has (or just "latest"). */
async function versionsOf(table: string): Promise<(number | undefined)[]> {
  try {
    const v = await availableVersions(new LocalObjectStore(table));
    if (!v || v.latest < 0) return [undefined];
    const out: number[] = [];
    for (let i = Math.max(0, v.earliest); i <= v.latest; i++) out.push(i);
    return out;
  } catch {
    return [undefined];
  }
}

/** Features this kit refuses to read on purpose; a table using one must fail naming it. */
export const REFUSED_FEATURES = ['variantType', 'variantType-preview', 'variantShredding-preview'];

export type Verdict =
  | { pass: true; how: 'same rows' | 'both fail' | 'refused feature'; engine?: PeerEngine }
  | { pass: false; why: string };

function sameRows(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((r, i) => r === b[i]);
}

/** Judge one case (see `runGolden`). */
export function judge(c: Case): Verdict {
  const ours = c.ours;
  const rs = c.deltaRs!;
  const spark = c.spark;
  if (!ours.ok) {
    const refused = REFUSED_FEATURES.find((f) => ours.error.includes(`"${f}"`));
    if (ours.code === 'UNSUPPORTED_READER_FEATURE' && refused) return { pass: true, how: 'refused feature' };
    if (!rs.ok && (!spark || !spark.ok)) {
      return ours.code
        ? { pass: true, how: 'both fail' }
        : { pass: false, why: `we fail without an error code: ${ours.error}` };
    }
    return {
      pass: false,
      why: `we fail (${ours.code ?? 'no code'}: ${ours.error}) but ${rs.ok ? 'delta-rs' : 'Spark'} reads it`,
    };
  }
  if (rs.ok && sameRows(ours.rows, rs.rows)) return { pass: true, how: 'same rows', engine: 'delta-rs' };
  if (spark?.ok && sameRows(ours.rows, spark.rows)) return { pass: true, how: 'same rows', engine: 'spark' };
  const ref = spark?.ok ? spark : rs.ok ? rs : undefined;
  if (!ref)
    return {
      pass: false,
      why: `we read ${ours.rows.length} rows but delta-rs and Spark both fail: ${rs.ok ? '' : rs.error}`,
    };
  const theirs = new Set(ref.rows);
  const mine = new Set(ours.rows);
  return {
    pass: false,
    why:
      `rows differ from ${spark?.ok ? 'Spark' : 'delta-rs'} (${ours.rows.length} vs ${ref.rows.length}); ` +
      `ours only: ${ours.rows.find((r) => !theirs.has(r))?.slice(0, 300)}; theirs only: ${ref.rows.find((r) => !mine.has(r))?.slice(0, 300)}`,
  };
}

/**
 * Run every case: our scan, then delta-rs for all of them in one batch, then Spark in one batch
 * for the cases delta-rs could not settle (it failed where we read rows, or its rows differ from
 * ours: delta-rs has known gaps, e.g. some column-mapped tables, and Spark is the arbiter).
 */
export async function runGolden(root = GOLDEN_ROOT, filter?: (table: string) => boolean): Promise<Case[]> {
  const cases: Case[] = [];
  for (const table of findTables(root).filter((t) => !filter || filter(t))) {
    for (const version of await versionsOf(table)) {
      cases.push({ table, version: version ?? -1, ours: await ourRows(table, version) });
    }
  }
  const request = (c: Case) => ({
    op: 'read' as const,
    table: c.table,
    ...(c.version >= 0 ? { version: c.version } : {}),
  });
  const outcome = (r: { ok: boolean; rows?: string[]; error?: string }): Outcome =>
    r.ok ? { ok: true, rows: canonicalSort(r.rows!) } : { ok: false, error: r.error! };
  const rs = await peerBatch('delta-rs', cases.map(request), { timeoutMs: 900_000 });
  cases.forEach((c, i) => (c.deltaRs = outcome(rs[i] as never)));
  const unsettled = cases.filter(
    (c) => c.ours.ok && (!c.deltaRs!.ok || !sameRows(c.ours.rows, c.deltaRs!.rows)),
  );
  if (unsettled.length > 0) {
    const spark = await peerBatch('spark', unsettled.map(request), { timeoutMs: 900_000 });
    unsettled.forEach((c, i) => (c.spark = outcome(spark[i] as never)));
  }
  return cases;
}
