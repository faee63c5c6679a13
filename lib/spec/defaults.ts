/**
 * Names and defaults of the LakeTable API. Every default lives in LAKETABLE_DEFAULTS: code reads
 * an optional field as `field ?? LAKETABLE_DEFAULTS.x`, the README's table is rendered from it
 * (`renderDefaultsMarkdown`) and a test checks that the README agrees.
 */

/** The API group of LakeTable resources (`kubectl get laketables.lakehouse.dev`). */
export const LAKETABLE_GROUP = 'lakehouse.dev';
export const LAKETABLE_VERSION = 'v1alpha1';
/** The `apiVersion` every LakeTable document carries. */
export const LAKETABLE_API_VERSION = `${LAKETABLE_GROUP}/${LAKETABLE_VERSION}`;
export const LAKETABLE_KIND = 'LakeTable';
export const LAKETABLE_PLURAL = 'laketables';
export const LAKETABLE_SHORT_NAME = 'lt';

/**
 * The storage zones of a lakehouse: `raw` (data as it arrived), `curated` (cleaned, joined,
 * features), `models` (model artifacts and their registry) and `scratch` (ephemeral data that
 * expires by lifecycle rules).
 */
export const ZONES = ['raw', 'curated', 'models', 'scratch'] as const;
export type Zone = (typeof ZONES)[number];

export const PERSISTENCE = ['durable', 'ephemeral'] as const;
export type Persistence = (typeof PERSISTENCE)[number];

export const SCHEMA_EVOLUTION = ['additive', 'none'] as const;
export type SchemaEvolution = (typeof SCHEMA_EVOLUTION)[number];

export const DELETION_POLICIES = ['Retain', 'Delete'] as const;
export type DeletionPolicy = (typeof DELETION_POLICIES)[number];

/** `maintenance.approval`: `Automatic` runs due maintenance; `Manual` waits for the plan's approval. */
export const APPROVAL_MODES = ['Automatic', 'Manual'] as const;
export type ApprovalMode = (typeof APPROVAL_MODES)[number];

/**
 * The annotation that approves one maintenance plan under `maintenance.approval: Manual`: its
 * value is the plan id of `status.plan.id`; any other value (a stale plan) approves nothing.
 */
export const APPROVE_PLAN_ANNOTATION = 'lakehouse.dev/approve-plan';

/** Deleted files younger than this are never vacuumed unless the spec says it is unsafe on purpose. */
export const MIN_SAFE_RETENTION_HOURS = 168;

const TARGET_FILE_SIZE_BYTES = 128 * 1024 * 1024;

/** The value every optional LakeTable field takes when the document leaves it out. */
export const LAKETABLE_DEFAULTS = {
  /** `spec.storage`: the storage (set of zone roots) a zone+path table lives in. */
  storage: 'default',
  /** `spec.schema.columns[].nullable`. */
  nullable: true,
  /** `spec.schemaEvolution`: new nullable columns are added to the table. */
  schemaEvolution: 'additive' as SchemaEvolution,
  /** `spec.persistence`. */
  persistence: 'durable' as Persistence,
  /** `spec.deletionPolicy`: deleting the resource leaves the data. */
  deletionPolicy: 'Retain' as DeletionPolicy,
  /** `properties['delta.checkpointInterval']` and `maintenance.checkpoint.interval`: commits between checkpoints. */
  checkpointInterval: 10,
  /** `properties['delta.deletedFileRetentionDuration']`: how long removed files stay for readers and time travel. */
  deletedFileRetentionDuration: 'interval 7 days',
  /** `properties['delta.logRetentionDuration']`: how long commit files are kept. */
  logRetentionDuration: 'interval 30 days',
  /** `properties['delta.dataSkippingNumIndexedCols']`: leading columns with min/max statistics. */
  dataSkippingNumIndexedCols: 32,
  /** `maintenance.suspend`. */
  suspend: false,
  /** `maintenance.approval`: due maintenance runs without waiting for an approval. */
  approval: 'Automatic' as ApprovalMode,
  /** `maintenance.window.timeZone` (and the time zone of every schedule). */
  timeZone: 'UTC',
  /** `maintenance.compaction.targetFileSize`. */
  targetFileSize: '128Mi',
  targetFileSizeBytes: TARGET_FILE_SIZE_BYTES,
  /** `maintenance.compaction.minFileSize`: files smaller than this are small; 3/4 of the target size. */
  minFileSizeRatio: 0.75,
  /** `maintenance.compaction.triggers.smallFileCount`: compaction is due at this many small files. */
  smallFileCount: 50,
  /** `maintenance.compaction.triggers.smallFileRatio`: … or when this share of the files is small (and at least 2). */
  smallFileRatio: 0.5,
  /** `maintenance.vacuum.schedule`. */
  vacuumSchedule: '@daily',
  /** `maintenance.*.enabled`. */
  maintenanceEnabled: true,
  /** `catalog.enabled`: register the table in the cloud catalog. */
  catalogEnabled: true,
} as const;

/** The minimum file size that goes with a target size when the spec sets none: 3/4 of it. */
export function defaultMinFileSizeBytes(targetBytes: number): number {
  return Math.floor(targetBytes * LAKETABLE_DEFAULTS.minFileSizeRatio);
}

/** The defaults as a Markdown table (field, default), for the README. */
export function renderDefaultsMarkdown(): string {
  const d = LAKETABLE_DEFAULTS;
  const rows: [string, string][] = [
    ['`spec.storage`', `\`${d.storage}\``],
    ['`spec.schema.columns[].nullable`', `\`${d.nullable}\``],
    ['`spec.schemaEvolution`', `\`${d.schemaEvolution}\``],
    ['`spec.persistence`', `\`${d.persistence}\``],
    ['`spec.deletionPolicy`', `\`${d.deletionPolicy}\``],
    ['`properties.delta.checkpointInterval`', `\`${d.checkpointInterval}\``],
    ['`properties.delta.deletedFileRetentionDuration`', `\`${d.deletedFileRetentionDuration}\``],
    ['`properties.delta.logRetentionDuration`', `\`${d.logRetentionDuration}\``],
    ['`properties.delta.dataSkippingNumIndexedCols`', `\`${d.dataSkippingNumIndexedCols}\``],
    ['`maintenance.suspend`', `\`${d.suspend}\``],
    ['`maintenance.approval`', `\`${d.approval}\``],
    ['`maintenance.*.enabled`', `\`${d.maintenanceEnabled}\``],
    ['`maintenance.window.timeZone`', `\`${d.timeZone}\``],
    ['`maintenance.compaction.targetFileSize`', `\`${d.targetFileSize}\``],
    ['`maintenance.compaction.minFileSize`', `${d.minFileSizeRatio} × \`targetFileSize\``],
    ['`maintenance.compaction.triggers.smallFileCount`', `\`${d.smallFileCount}\``],
    ['`maintenance.compaction.triggers.smallFileRatio`', `\`${d.smallFileRatio}\``],
    ['`maintenance.checkpoint.interval`', `\`delta.checkpointInterval\`, else \`${d.checkpointInterval}\``],
    ['`maintenance.vacuum.schedule`', `\`${d.vacuumSchedule}\``],
    ['`maintenance.vacuum.retention`', 'the table\u2019s `delta.deletedFileRetentionDuration`'],
    ['`catalog.enabled`', `\`${d.catalogEnabled}\``],
    ['`catalog.database`', 'the zone, or `default` for a `location` table'],
    ['`catalog.table`', '`metadata.name` with `-` and `.` turned into `_`'],
  ];
  return ['| field | default |', '|---|---|', ...rows.map(([f, v]) => `| ${f} | ${v} |`)].join('\n');
}
