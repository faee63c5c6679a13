/**
 * Reconcile reports for people: one block per table (what was done and why, the table's size
 * before and after, what is due next) and a closing summary line.
 */
import { formatPlanSummary } from './approval.js';
import { formatTime } from './plan.js';
import type { ReconcileSummary, TableMeasures, TableReport } from './reconcile.js';

/** `1.9 MiB`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

const OUTCOME_TEXT: Record<TableReport['outcome'], string> = {
  created: 'created',
  changed: 'changed',
  maintained: 'maintained',
  unchanged: 'no change',
  planned: 'would change (dry run)',
  refused: 'REFUSED, table left untouched',
  failed: 'FAILED',
};

function plural(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}

function sizeText(m: TableMeasures): string {
  if (m.files === 0) return 'empty';
  return `${plural(m.files, 'file')}, ${formatBytes(m.bytes)}, ${m.smallFiles.toLocaleString('en-US')} small`;
}

/**
 * The text block of one table's report (lines without trailing newline). `next: false` leaves out
 * what is due next.
 */
export function formatTableReport(r: TableReport, options: { next?: boolean } = {}): string[] {
  const lines: string[] = [];
  const version =
    r.before && r.after && r.before.version !== r.after.version
      ? `version ${r.before.version} -> ${r.after.version}`
      : r.after
        ? `version ${r.after.version}`
        : r.before
          ? `version ${r.before.version}`
          : '';
  lines.push(`${r.name}: ${OUTCOME_TEXT[r.outcome]}${version ? ` (${version})` : ''}`);
  if (r.location) lines.push(`  location   ${r.location}`);
  if (r.before && r.after && (r.before.files !== r.after.files || r.before.bytes !== r.after.bytes)) {
    lines.push(`  files      ${sizeText(r.before)}  ->  ${sizeText(r.after)}`);
  } else if (r.after ?? r.before) {
    lines.push(`  files      ${sizeText((r.after ?? r.before)!)}`);
  }
  if (r.maintenancePlan) lines.push(`  plan       ${formatPlanSummary(r.maintenancePlan, formatBytes)}`);
  if (r.approval?.state === 'awaiting')
    lines.push(
      `  approval   maintenance.approval is Manual: compaction and vacuum wait; approve with --approve ${r.approval.planId}`,
    );
  else if (r.approval?.state === 'approved') lines.push(`  approval   plan ${r.approval.planId} approved`);
  for (const id of r.approval?.ignoredApprovals ?? [])
    lines.push(`  approval   ${id} is not the current plan (stale or wrong id): ignored`);
  for (const a of r.actions) {
    const label = a.status === 'done' ? 'done' : a.status === 'awaiting-approval' ? 'waiting' : a.status;
    lines.push(`  ${label.padEnd(10)} ${a.kind}: ${a.summary ?? a.error?.message ?? ''}`.trimEnd());
    lines.push(`             why: ${a.reason}`);
  }
  for (const f of r.refusals) lines.push(`  refused    ${f.reason}`);
  if (r.error && !r.actions.some((a) => a.error)) {
    const [first, ...rest] = r.error.message.split('\n');
    lines.push(`  error      [${r.error.code}] ${first}`);
    for (const l of rest) lines.push(`             ${l.trim()}`);
  }
  if (options.next === false) return lines;
  r.next.forEach((n, i) => {
    const label = i === 0 ? 'next' : '';
    const when = n.due ? 'due now: ' : '';
    lines.push(`  ${label.padEnd(10)} ${n.kind}: ${when}${n.reason}`);
  });
  return lines;
}

/** The closing line: what happened to how many tables, and when something is next due. */
export function formatSummary(s: ReconcileSummary): string {
  const c = s.counts;
  const secs = (s.durationMs / 1000).toFixed(1);
  const wake = s.wakeAt ? ` Next scheduled maintenance: ${formatTime(Date.parse(s.wakeAt))}.` : '';
  const awaiting = s.reports.filter((r) => r.approval?.state === 'awaiting').length;
  const approvalNote = awaiting
    ? ` ${plural(awaiting, 'table')} ${awaiting === 1 ? 'waits' : 'wait'} for plan approval (maintenance.approval: Manual; --approve <plan id>).`
    : '';
  if (c.unchanged === s.tables && awaiting === 0) {
    const waiting = s.reports.some((r) => r.next.some((n) => n.waitingForWindow));
    return (
      `Nothing to do: ${s.tables === 1 ? 'the table matches its definition' : `all ${plural(s.tables, 'table')} match their definitions`} and no maintenance is due` +
      `${waiting ? ' (or it waits for its maintenance window)' : ''} (${secs} s).${wake}`
    );
  }
  const parts = (['created', 'changed', 'maintained', 'unchanged', 'planned', 'refused', 'failed'] as const)
    .filter((k) => c[k] > 0)
    .map((k) => `${c[k]} ${k}`);
  return `${plural(s.tables, 'table')}: ${parts.join(', ')} (${secs} s).${approvalNote}${wake}`;
}
