/**
 * What a LakeTable means once its defaults are applied: where the table lives, its Delta schema,
 * its catalog names and its maintenance settings in numbers. `lib/reconcile`, the operator, CDK
 * and Pulumi read a table through these functions, so a default is applied in one place.
 */
import * as path from 'node:path';
import { LakehouseError } from '../errors.js';
import {
  LAKETABLE_DEFAULTS,
  ZONES,
  defaultMinFileSizeBytes,
  type DeletionPolicy,
  type Persistence,
  type SchemaEvolution,
  type Zone,
  type ApprovalMode,
} from './defaults.js';
import { deltaTypeToJson, parseDeltaType, type DeltaSchemaField, type DeltaType } from './delta-type.js';
import { parseDeltaInterval, parseDuration, parseSize } from './formats.js';
import type { LakeTable } from './schema.js';

/**
 * Root URIs of each zone, per storage name: `{ default: { raw: 's3://acme-raw', curated: … } }`.
 * The operator and `lakehouse reconcile` get them from configuration; CDK and Pulumi from the
 * buckets they create.
 */
export type StorageRoots = Readonly<Record<string, Readonly<Partial<Record<Zone, string>>>>>;

/** Zone roots under one local folder (`<dir>/raw`, `<dir>/curated`, …) as storage `default`: the embedded default. */
export function localStorageRoots(dir: string, storage: string = LAKETABLE_DEFAULTS.storage): StorageRoots {
  const base = path.resolve(dir);
  return { [storage]: Object.fromEntries(ZONES.map((z) => [z, path.join(base, z)])) };
}

/**
 * The table's URI: `spec.location` as written (trailing slashes removed), or the root of
 * `spec.storage` (default "default") and `spec.zone` in `storageRoots`, joined with `spec.path`.
 * Throws STORAGE_CONFIG when that storage has no root for the zone.
 */
export function tableLocation(table: LakeTable, storageRoots: StorageRoots = {}): string {
  const s = table.spec;
  if (s.location !== undefined) return trimTrailingSlash(s.location);
  const storage = s.storage ?? LAKETABLE_DEFAULTS.storage;
  const root = storageRoots[storage]?.[s.zone!];
  if (root === undefined) {
    const known = Object.keys(storageRoots);
    throw new LakehouseError(
      'STORAGE_CONFIG',
      `LakeTable "${table.metadata.name}": storage "${storage}" has no root for zone "${s.zone}"; ` +
        (known.length === 0
          ? 'configure the zone roots of the storage (e.g. s3://bucket-raw for raw), or give the table a location'
          : `configured storages: ${known.join(', ')}; add the zone to "${storage}" or give the table a location`),
    );
  }
  return `${trimTrailingSlash(root)}/${s.path}`;
}

function trimTrailingSlash(s: string): string {
  const t = s.replace(/\/+$/, '');
  return t === '' || /^[a-z0-9+.-]+:\/?$/i.test(t) ? s : t;
}

/** The table's catalog entry with defaults applied. */
export interface CatalogNames {
  readonly enabled: boolean;
  readonly database: string;
  readonly table: string;
}

/** Database: `catalog.database`, else the zone, else "default"; table: `catalog.table`, else metadata.name with `-`/`.` as `_`. */
export function catalogNames(table: LakeTable): CatalogNames {
  const c = table.spec.catalog;
  return {
    enabled: c?.enabled ?? LAKETABLE_DEFAULTS.catalogEnabled,
    database: c?.database ?? table.spec.zone ?? 'default',
    table: c?.table ?? table.metadata.name.replace(/[-.]/g, '_'),
  };
}

/** A column with its type parsed and defaults applied. */
export interface ResolvedColumn {
  readonly name: string;
  /** The type as written in the spec. */
  readonly typeText: string;
  readonly type: DeltaType;
  readonly nullable: boolean;
  readonly comment?: string;
  readonly partition: boolean;
}

export function resolvedColumns(table: LakeTable): ResolvedColumn[] {
  const partitions = new Set(table.spec.partitionBy ?? []);
  return table.spec.schema.columns.map((c) => ({
    name: c.name,
    typeText: c.type,
    type: parseDeltaType(c.type),
    nullable: c.nullable ?? LAKETABLE_DEFAULTS.nullable,
    ...(c.comment !== undefined ? { comment: c.comment } : {}),
    partition: partitions.has(c.name),
  }));
}

/**
 * The table schema as the Delta log writes it (`metaData.schemaString` is its JSON): a struct of
 * the spec's columns in order, comments in each field's metadata under `comment`.
 */
export function deltaSchema(table: LakeTable): { type: 'struct'; fields: DeltaSchemaField[] } {
  return {
    type: 'struct',
    fields: resolvedColumns(table).map((c) => ({
      name: c.name,
      type: deltaTypeToJson(c.type),
      nullable: c.nullable,
      metadata: c.comment !== undefined ? { comment: c.comment } : {},
    })),
  };
}

/** Maintenance and lifecycle settings with every default applied, in numbers. */
export interface ResolvedSettings {
  readonly schemaEvolution: SchemaEvolution;
  readonly persistence: Persistence;
  readonly deletionPolicy: DeletionPolicy;
  readonly partitionBy: readonly string[];
  /** The spec's table properties, exactly as declared (the reconciler writes these). */
  readonly properties: Readonly<Record<string, string>>;
  readonly checkpointInterval: number;
  readonly deletedFileRetentionMs: number;
  readonly logRetentionMs: number;
  readonly suspend: boolean;
  /** `Manual`: compaction and vacuum wait for their plan's approval. */
  readonly approval: ApprovalMode;
  readonly timeZone: string;
  /** Absent: maintenance may start any time. */
  readonly window?: { readonly schedule: string; readonly durationMs: number };
  readonly compaction: {
    readonly enabled: boolean;
    readonly schedule?: string;
    readonly smallFileCount: number;
    readonly smallFileRatio: number;
    readonly targetFileSizeBytes: number;
    readonly minFileSizeBytes: number;
    readonly zOrderBy: readonly string[];
  };
  readonly checkpoint: { readonly enabled: boolean; readonly interval: number };
  readonly vacuum: {
    readonly enabled: boolean;
    readonly schedule: string;
    /** Never below deletedFileRetentionMs (validation guarantees it). */
    readonly retentionMs: number;
    readonly unsafeAllowShortRetention: boolean;
  };
}

/** The settings of a validated table with LAKETABLE_DEFAULTS applied. */
export function resolveSettings(table: LakeTable): ResolvedSettings {
  const s = table.spec;
  const m = s.maintenance;
  const props = s.properties ?? {};
  const checkpointInterval =
    m?.checkpoint?.interval ??
    numberProp(props['delta.checkpointInterval']) ??
    LAKETABLE_DEFAULTS.checkpointInterval;
  const deletedFileRetentionMs =
    parseDeltaInterval(props['delta.deletedFileRetentionDuration'] ?? '') ??
    parseDeltaInterval(LAKETABLE_DEFAULTS.deletedFileRetentionDuration)!;
  const targetFileSizeBytes =
    parseSize(m?.compaction?.targetFileSize ?? '') ?? LAKETABLE_DEFAULTS.targetFileSizeBytes;
  return {
    schemaEvolution: s.schemaEvolution ?? LAKETABLE_DEFAULTS.schemaEvolution,
    persistence: s.persistence ?? LAKETABLE_DEFAULTS.persistence,
    deletionPolicy: s.deletionPolicy ?? LAKETABLE_DEFAULTS.deletionPolicy,
    partitionBy: s.partitionBy ?? [],
    properties: props,
    checkpointInterval,
    deletedFileRetentionMs,
    logRetentionMs:
      parseDeltaInterval(props['delta.logRetentionDuration'] ?? '') ??
      parseDeltaInterval(LAKETABLE_DEFAULTS.logRetentionDuration)!,
    suspend: m?.suspend ?? LAKETABLE_DEFAULTS.suspend,
    approval: m?.approval ?? LAKETABLE_DEFAULTS.approval,
    timeZone: m?.window?.timeZone ?? LAKETABLE_DEFAULTS.timeZone,
    ...(m?.window
      ? { window: { schedule: m.window.schedule, durationMs: parseDuration(m.window.duration)! } }
      : {}),
    compaction: {
      enabled: m?.compaction?.enabled ?? LAKETABLE_DEFAULTS.maintenanceEnabled,
      ...(m?.compaction?.schedule !== undefined ? { schedule: m.compaction.schedule } : {}),
      smallFileCount: m?.compaction?.triggers?.smallFileCount ?? LAKETABLE_DEFAULTS.smallFileCount,
      smallFileRatio: m?.compaction?.triggers?.smallFileRatio ?? LAKETABLE_DEFAULTS.smallFileRatio,
      targetFileSizeBytes,
      minFileSizeBytes:
        parseSize(m?.compaction?.minFileSize ?? '') ?? defaultMinFileSizeBytes(targetFileSizeBytes),
      zOrderBy: m?.compaction?.zOrderBy ?? [],
    },
    checkpoint: {
      enabled: m?.checkpoint?.enabled ?? LAKETABLE_DEFAULTS.maintenanceEnabled,
      interval: checkpointInterval,
    },
    vacuum: {
      enabled: m?.vacuum?.enabled ?? LAKETABLE_DEFAULTS.maintenanceEnabled,
      schedule: m?.vacuum?.schedule ?? LAKETABLE_DEFAULTS.vacuumSchedule,
      retentionMs: parseDuration(m?.vacuum?.retention ?? '') ?? deletedFileRetentionMs,
      unsafeAllowShortRetention: m?.vacuum?.unsafeAllowShortRetention ?? false,
    },
  };
}

function numberProp(v: string | undefined): number | undefined {
  return v !== undefined && /^[0-9]+$/.test(v) ? Number(v) : undefined;
}
