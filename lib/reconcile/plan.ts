/**
 * Planning: what reconciling one LakeTable with its table would do, and why. A pure function of
 * the definition, the observed state and the time (no I/O), so the CLI, the operator and the
 * tests share one set of rules and a dry run shows exactly what a real run does.
 *
 * The rules, in order:
 * 1. No table at the location: create it (schema, partitioning, properties of the spec). Nothing
 *    else runs on the same pass; maintenance has nothing to work on yet.
 * 2. Destructive differences are refused and the table is left untouched (no schema, property or
 *    maintenance change): a column in the table but not in the spec, a type change, a nullability
 *    change, a new NOT NULL column, a partitioning change, a change of `delta.columnMapping.mode`,
 *    and new columns when `schemaEvolution: none`. Each refusal says what differs and what to do.
 * 3. Additive differences are applied: new nullable columns, top-level or nested (with
 *    `schemaEvolution: additive`), and declared properties whose value differs from the table's.
 *    Properties the spec does not declare are left as they are.
 * 4. Maintenance, unless `maintenance.suspend`; only while the maintenance window is open (when
 *    one is declared); each kind only when enabled:
 *    - compaction when a trigger holds (small files ≥ `smallFileCount`, or ≥ 2 small files making
 *      at least `smallFileRatio` of the files) or its `schedule` fired since the last compaction,
 *      and only when there is something to merge (two small files in one partition);
 *    - checkpoint when the commits since the last checkpoint reach the interval;
 *    - vacuum when its `schedule` fired since the last vacuum (or since the table was created),
 *      with a retention never below the table's `delta.deletedFileRetentionDuration`.
 * Maintenance that is not due is listed with the reason and, when time alone will make it due,
 * the time.
 */
import { tableProperty, parseInterval } from '../delta/properties.js';
import { parseSchema, type StructType } from '../delta/schema.js';
import {
  deltaSchema,
  formatSize,
  nextCronTime,
  resolveSettings,
  type LakeTable,
  type ResolvedSettings,
} from '../spec/index.js';
import type { TableState } from './observe.js';
import { diffSchemas, type SchemaChange } from './schema-diff.js';

export type MaintenanceKind = 'compaction' | 'checkpoint' | 'vacuum';

/** One step of a plan. `reason` says, for people, why it is needed. */
export type PlannedAction =
  | {
      readonly kind: 'create';
      readonly reason: string;
      readonly schema: StructType;
      readonly partitionBy: readonly string[];
      readonly properties: Readonly<Record<string, string>>;
    }
  | {
      readonly kind: 'addColumns';
      readonly reason: string;
      /** Paths of the added columns and nested fields. */
      readonly columns: readonly string[];
      /** The declared schema; merged into the table's (its columns keep their order and metadata). */
      readonly schema: StructType;
    }
  | {
      readonly kind: 'setProperties';
      readonly reason: string;
      /** Only the properties that change. */
      readonly properties: Readonly<Record<string, string>>;
      /** Their values before (null: not set). */
      readonly previous: Readonly<Record<string, string | null>>;
    }
  | {
      readonly kind: 'compaction';
      readonly reason: string;
      readonly targetFileSizeBytes: number;
      readonly minFileSizeBytes: number;
      readonly zOrderBy: readonly string[];
    }
  | { readonly kind: 'checkpoint'; readonly reason: string }
  | {
      readonly kind: 'vacuum';
      readonly reason: string;
      /** Never below the table's `delta.deletedFileRetentionDuration`. */
      readonly retentionHours: number;
    };

export type ActionKind = PlannedAction['kind'];

/** A declared change that reconcile will not make. */
export interface Refusal {
  readonly change: SchemaChange['kind'] | 'partitionChange' | 'columnMappingChange' | 'schemaEvolutionNone';
  /** Column path or property key; empty for the partitioning. */
  readonly path: string;
  /** What differs and what to do about it. */
  readonly reason: string;
}

/** Maintenance that does not run on this pass, and why. */
export interface NotDue {
  readonly kind: MaintenanceKind;
  readonly reason: string;
  /** When time alone makes it due (a schedule fires, the window opens); null when it depends on the table's state. */
  readonly at: number | null;
  /** True when it is due but the maintenance window is closed (`at` is when the window opens). */
  readonly waitingForWindow: boolean;
}

export interface TablePlan {
  readonly name: string;
  /** Steps in the order they run: create or schema/properties first, then compaction, checkpoint, vacuum. */
  readonly actions: readonly PlannedAction[];
  /** Non-empty: the table is left untouched and `actions` is empty. */
  readonly refusals: readonly Refusal[];
  readonly notDue: readonly NotDue[];
  /** The earliest `notDue[].at`: when to look again if nothing else changes; null: no time-based event. */
  readonly wakeAt: number | null;
}

const HOUR = 3_600_000;

/**
 * Plan the reconcile of `desired` (a validated LakeTable) with `observed` (null: no table at its
 * location) at time `now`. Pure and deterministic; throws only for a definition that did not pass
 * validation.
 */
export function plan(desired: LakeTable, observed: TableState | null, now: Date | number): TablePlan {
  const t = typeof now === 'number' ? now : now.getTime();
  const s = resolveSettings(desired);
  const name = desired.metadata.name;
  const schema = parseSchema(JSON.stringify(deltaSchema(desired)), `LakeTable ${name} schema`);

  if (observed === null) {
    return {
      name,
      actions: [
        {
          kind: 'create',
          reason: 'no table at the location yet',
          schema,
          partitionBy: s.partitionBy,
          properties: s.properties,
        },
      ],
      refusals: [],
      notDue: [],
      wakeAt: null,
    };
  }

  const refusals = destructiveChanges(s, schema, observed);
  if (refusals.length > 0) return { name, actions: [], refusals, notDue: [], wakeAt: null };

  const actions: PlannedAction[] = [];
  const { additions } = diffSchemas(observed.schema, schema);
  if (additions.length > 0) {
    actions.push({
      kind: 'addColumns',
      reason: `the spec declares ${additions.length} new nullable column${additions.length === 1 ? '' : 's'}: ${additions
        .map((a) => `${a.path} (${a.detail})`)
        .join(', ')}`,
      columns: additions.map((a) => a.path),
      schema,
    });
  }
  const changed: Record<string, string> = {};
  const previous: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(s.properties)) {
    if (observed.properties[k] === v) continue;
    changed[k] = v;
    previous[k] = observed.properties[k] ?? null;
  }
  const keys = Object.keys(changed);
  if (keys.length > 0) {
    actions.push({
      kind: 'setProperties',
      reason: keys
        .map(
          (k) =>
            `${k} is ${previous[k] === null ? 'not set' : `"${previous[k]}"`}, the spec says "${changed[k]}"`,
        )
        .join('; '),
      properties: changed,
      previous,
    });
  }

  const notDue: NotDue[] = [];
  planMaintenance(s, observed, t, actions, notDue);
  const times = notDue.map((n) => n.at).filter((x): x is number => x !== null);
  return { name, actions, refusals: [], notDue, wakeAt: times.length ? Math.min(...times) : null };
}

function destructiveChanges(s: ResolvedSettings, schema: StructType, observed: TableState): Refusal[] {
  const refusals: Refusal[] = [];
  const have = observed.partitionColumns.map((c) => c.toLowerCase()).join(',');
  const want = s.partitionBy.map((c) => c.toLowerCase()).join(',');
  if (have !== want) {
    refusals.push({
      change: 'partitionChange',
      path: '',
      reason: `the table is partitioned by [${observed.partitionColumns.join(', ')}], the spec says [${s.partitionBy.join(', ')}]; changing partitioning rewrites every file: put partitionBy back, or define a new table and copy the data`,
    });
  }
  const diff = diffSchemas(observed.schema, schema);
  for (const c of diff.destructive) refusals.push({ change: c.kind, path: c.path, reason: refusalText(c) });
  if (s.schemaEvolution === 'none') {
    for (const c of diff.additions) {
      refusals.push({
        change: 'schemaEvolutionNone',
        path: c.path,
        reason: `column ${c.path} (${c.detail}) is in the spec, not in the table, and schemaEvolution is "none": set schemaEvolution: additive to add it, or remove it from the spec`,
      });
    }
  }
  const cm = 'delta.columnMapping.mode';
  const wantCm = s.properties[cm];
  if (wantCm !== undefined && wantCm !== (observed.properties[cm] ?? 'none')) {
    refusals.push({
      change: 'columnMappingChange',
      path: `properties.${cm}`,
      reason: `the table's ${cm} is "${observed.properties[cm] ?? 'none'}", the spec says "${wantCm}"; reconcile does not change column mapping of an existing table: put the property back`,
    });
  }
  return refusals;
}

function refusalText(c: SchemaChange): string {
  switch (c.kind) {
    case 'dropColumn':
      return `column ${c.path} (${c.detail}): dropping a column is destructive; add it back to spec.schema.columns (reconcile never drops data)`;
    case 'typeChange':
      return `column ${c.path} is ${c.detail}: changing a column's type is destructive; put the table's type back in the spec, or add a new column`;
    case 'nullabilityChange':
      return `column ${c.path} is ${c.detail}; reconcile does not change nullability: put the table's nullability back in the spec`;
    case 'newRequiredColumn':
      return `new column ${c.path} is ${c.detail}; declare it nullable (drop "nullable: false")`;
    default:
      return `${c.path}: ${c.detail}`;
  }
}

function planMaintenance(
  s: ResolvedSettings,
  o: TableState,
  now: number,
  actions: PlannedAction[],
  notDue: NotDue[],
): void {
  const kinds: [MaintenanceKind, boolean][] = [
    ['compaction', s.compaction.enabled],
    ['checkpoint', s.checkpoint.enabled],
    ['vacuum', s.vacuum.enabled],
  ];
  if (s.suspend) {
    for (const [kind, enabled] of kinds)
      if (enabled)
        notDue.push({
          kind,
          reason: 'suspended (maintenance.suspend: true)',
          at: null,
          waitingForWindow: false,
        });
    return;
  }
  for (const [kind, enabled] of kinds) {
    if (!enabled)
      notDue.push({
        kind,
        reason: `disabled (maintenance.${kind}.enabled: false)`,
        at: null,
        waitingForWindow: false,
      });
  }
  const window = windowState(s, now);
  const due: { kind: MaintenanceKind; action: PlannedAction }[] = [];

  if (s.compaction.enabled) {
    const c = s.compaction;
    const smallText = `${o.smallFiles} of ${o.files} file${o.files === 1 ? '' : 's'} below ${humanSize(c.minFileSizeBytes)}`;
    const reasons: string[] = [];
    if (o.smallFiles >= c.smallFileCount)
      reasons.push(`${smallText} (trigger: ${c.smallFileCount} small files)`);
    else if (o.smallFiles >= 2 && o.files > 0 && o.smallFiles / o.files >= c.smallFileRatio)
      reasons.push(`${smallText} (trigger: a share of ${c.smallFileRatio})`);
    let scheduledAt: number | null = null;
    if (c.schedule !== undefined) {
      const fired = nextCronTime(
        c.schedule,
        new Date(o.lastCompactionTime ?? o.createdTime),
        s.timeZone,
      ).getTime();
      if (fired <= now)
        reasons.push(`scheduled run of "${c.schedule}" at ${formatTime(fired)} has not happened yet`);
      else scheduledAt = fired;
    }
    if (reasons.length > 0 && o.compactableSmallFiles < 2) {
      notDue.push({
        kind: 'compaction',
        reason: `${smallText}, but no partition holds two of them: nothing to merge`,
        at: scheduledAt,
        waitingForWindow: false,
      });
    } else if (reasons.length > 0) {
      due.push({
        kind: 'compaction',
        action: {
          kind: 'compaction',
          reason: reasons.join('; '),
          targetFileSizeBytes: c.targetFileSizeBytes,
          minFileSizeBytes: c.minFileSizeBytes,
          zOrderBy: c.zOrderBy,
        },
      });
    } else {
      const ratio = o.files > 0 ? o.smallFiles / o.files : 0;
      notDue.push({
        kind: 'compaction',
        reason:
          `${o.files === 0 ? 'no data files yet' : `${smallText} (share ${ratio.toFixed(2)})`}; due at ${c.smallFileCount} small files or a share of ${c.smallFileRatio}` +
          (scheduledAt !== null ? `, or at the scheduled run "${c.schedule}"` : ''),
        at: scheduledAt,
        waitingForWindow: false,
      });
    }
  }

  if (s.checkpoint.enabled) {
    const n = o.commitsSinceCheckpoint;
    const since =
      o.lastCheckpointVersion === null
        ? 'no checkpoint yet'
        : `last checkpoint at version ${o.lastCheckpointVersion}`;
    if (n >= s.checkpoint.interval) {
      due.push({
        kind: 'checkpoint',
        action: {
          kind: 'checkpoint',
          reason: `${n} commit${n === 1 ? '' : 's'} since the last checkpoint (${since}; interval ${s.checkpoint.interval})`,
        },
      });
    } else {
      notDue.push({
        kind: 'checkpoint',
        reason: `${n} of ${s.checkpoint.interval} commits since the last checkpoint (${since})`,
        at: null,
        waitingForWindow: false,
      });
    }
  }

  if (s.vacuum.enabled) {
    const tableRetentionMs = parseInterval(
      tableProperty(o.properties as Record<string, string>, 'delta.deletedFileRetentionDuration'),
      'delta.deletedFileRetentionDuration',
    );
    const retentionMs = Math.max(s.vacuum.retentionMs, tableRetentionMs);
    const base = o.lastVacuumTime ?? o.createdTime;
    const fired = nextCronTime(s.vacuum.schedule, new Date(base), s.timeZone).getTime();
    const last = o.lastVacuumTime === null ? 'never vacuumed' : `last vacuum ${formatTime(o.lastVacuumTime)}`;
    if (fired <= now) {
      due.push({
        kind: 'vacuum',
        action: {
          kind: 'vacuum',
          reason: `schedule "${s.vacuum.schedule}" fired at ${formatTime(fired)} (${last}); retention ${retentionMs / HOUR}h`,
          retentionHours: retentionMs / HOUR,
        },
      });
    } else {
      notDue.push({
        kind: 'vacuum',
        reason: `${last}; next run of "${s.vacuum.schedule}" at ${formatTime(fired)}`,
        at: fired,
        waitingForWindow: false,
      });
    }
  }

  for (const d of due) {
    if (window.open) actions.push(d.action);
    else
      notDue.push({
        kind: d.kind,
        reason: `due (${d.action.reason}), waiting for the maintenance window "${s.window!.schedule}" (${s.timeZone}), which opens at ${formatTime(window.opensAt!)}`,
        at: window.opensAt,
        waitingForWindow: true,
      });
  }
}

/** Whether the maintenance window is open at `now`, and when it next opens when it is not. */
export function windowState(s: ResolvedSettings, now: number): { open: boolean; opensAt: number | null } {
  if (!s.window) return { open: true, opensAt: null };
  // The first opening after (now - duration): if it is not after now, the window is open.
  const opening = nextCronTime(s.window.schedule, new Date(now - s.window.durationMs), s.timeZone).getTime();
  return opening <= now ? { open: true, opensAt: null } : { open: false, opensAt: opening };
}

/** `96 MiB` for 96Mi; bytes when not a whole unit. */
function humanSize(bytes: number): string {
  return formatSize(bytes).replace(/^(\d+)(Ki|Mi|Gi|Ti)$/, '$1 $2B');
}

/** `2026-11-25 13:00 UTC`. */
export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
