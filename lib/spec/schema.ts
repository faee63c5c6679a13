/**
 * The LakeTable schema: the single source of truth. From it come the TypeScript types
 * (`z.infer`), runtime validation (`parseLakeTable`), the CRD's openAPIV3Schema with its CEL rules
 * (`crd.ts`) and the field descriptions in `kubectl explain` and the docs.
 *
 * What JSON Schema can say (types, enums, patterns, ranges) is said with zod checks. What it can't
 * (a partition column must be a column, retention floors, exclusive fields) is a `CrossFieldRule`
 * below: a TypeScript check that zod runs, and the CEL expression the API server runs, side by
 * side so they change together. A test evaluates both on the same documents.
 */
import { z } from 'zod';
import { CRON_PATTERN, cronError } from './cron.js';
import {
  APPROVAL_MODES,
  APPROVE_PLAN_ANNOTATION,
  DELETION_POLICIES,
  LAKETABLE_API_VERSION,
  LAKETABLE_DEFAULTS,
  LAKETABLE_KIND,
  MIN_SAFE_RETENTION_HOURS,
  PERSISTENCE,
  SCHEMA_EVOLUTION,
  ZONES,
} from './defaults.js';
import { deltaTypeError, isPartitionableType, parseDeltaType } from './delta-type.js';
import {
  DELTA_INTERVAL_HELP,
  DELTA_INTERVAL_PATTERN,
  DURATION_HELP,
  DURATION_PATTERN,
  SIZE_HELP,
  SIZE_PATTERN,
  isValidTimeZone,
  parseDeltaInterval,
  parseDuration,
  parseSize,
} from './formats.js';

/** Kubernetes object names (RFC 1123 subdomain), so a Git document applies to a cluster unchanged. */
const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** Column names every catalog accepts (Glue, Athena, BigQuery, Unity Catalog): letters, digits, underscore. */
export const COLUMN_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
/** Catalog (database, table) names: lower case so Glue and Hive keep them as written. */
export const CATALOG_NAME_PATTERN = '^[a-z_][a-z0-9_]*$';
/** A path under a zone: relative, slash-separated segments, no `..`, no `_delta_log`. */
export const TABLE_PATH_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.=-]*(/[A-Za-z0-9_][A-Za-z0-9_.=-]*)*$';
/** A table URI or path without query string or fragment (SAS tokens and keys never go in a spec). */
export const LOCATION_PATTERN = '^[^?#\\s]+$';
/** Loose shape of a type string for the API server; the full grammar is checked by parseDeltaType. */
const COLUMN_TYPE_PATTERN = '^[a-z][a-z_]*\\s*([(<].*[)>])?$';
const PROPERTY_KEY_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.-]*$';
/** Property keys that look like credentials. */
const CREDENTIAL_KEY = 'secret|password|passwd|accesskey|access_key|token|credential|sas_?key|private_?key';

export const MAX_COLUMNS = 1000;
export const MAX_PARTITION_COLUMNS = 8;
export const MAX_ZORDER_COLUMNS = 8;
export const MAX_PROPERTIES = 100;

// ---------------------------------------------------------------------------------------------
// Field schemas

/**
 * A zod error map for a field of the wrong type: "required: add <what>" when it is missing,
 * "must be <what>" otherwise. Other problems (ranges, patterns) keep their own messages.
 */
const expected =
  (what: string) =>
  (iss: { code?: string; input?: unknown }): string | undefined =>
    iss.code === 'invalid_type'
      ? iss.input === undefined
        ? `required: add ${what}`
        : `must be ${what}`
      : undefined;

const cron = (description: string) =>
  z
    .string()
    .max(100)
    .superRefine((v, ctx) => {
      const err = cronError(v);
      if (err) ctx.addIssue({ code: 'custom', message: err });
    })
    .describe(description)
    .meta({ pattern: CRON_PATTERN });

const duration = (description: string) =>
  z
    .string({ error: expected(`a duration string; ${DURATION_HELP}`) })
    .min(2, { error: `empty duration; ${DURATION_HELP}` })
    .max(32)
    .regex(new RegExp(DURATION_PATTERN), { error: `not a duration; ${DURATION_HELP}` })
    .describe(description);

const size = (description: string) =>
  z
    .string({ error: expected(`a string; ${SIZE_HELP}`) })
    .max(32)
    .regex(new RegExp(SIZE_PATTERN), { error: `not a size; ${SIZE_HELP}` })
    .describe(description);

const columnName = z
  .string({ error: expected('a column name (a string)') })
  .min(1)
  .max(128)
  .regex(new RegExp(COLUMN_NAME_PATTERN), {
    error:
      'column names are letters, digits and underscores, not starting with a digit (every catalog accepts these)',
  });

export const ColumnSchema = z
  .strictObject({
    name: columnName.describe('Column name: letters, digits and underscores, not starting with a digit.'),
    type: z
      .string({ error: expected('a Delta type string such as "long" or "decimal(10,2)"') })
      .min(1)
      .max(4096)
      .superRefine((v, ctx) => {
        const err = deltaTypeError(v);
        if (err) ctx.addIssue({ code: 'custom', message: err.replace(/^type "[^"]*" /, '') });
      })
      .describe(
        'Delta type: string, long, integer, short, byte, float, double, boolean, binary, date, timestamp, ' +
          'timestamp_ntz, decimal(P,S), array<T>, map<K,V>, struct<name:T,...> (nested fields may add "not null").',
      )
      .meta({ pattern: COLUMN_TYPE_PATTERN }),
    nullable: z
      .boolean()
      .optional()
      .describe(`Whether the column admits nulls. Default ${LAKETABLE_DEFAULTS.nullable}.`),
    comment: z.string().max(1024).optional().describe('Description shown in catalogs.'),
  })
  .describe('A column of the table.');

const KNOWN_BOOLEAN_PROPERTIES = [
  'delta.appendOnly',
  'delta.enableDeletionVectors',
  'delta.enableChangeDataFeed',
  'delta.enableRowTracking',
  'delta.checkpoint.writeStatsAsJson',
  'delta.checkpoint.writeStatsAsStruct',
  'delta.autoOptimize.optimizeWrite',
  'delta.autoOptimize.autoCompact',
] as const;

/**
 * Table properties this schema knows, with the format of their value. Other keys are written to
 * the table as given (Delta properties are strings).
 */
export const KNOWN_PROPERTIES: Readonly<Record<string, { pattern: string; help: string }>> = {
  'delta.logRetentionDuration': { pattern: DELTA_INTERVAL_PATTERN, help: DELTA_INTERVAL_HELP },
  'delta.deletedFileRetentionDuration': { pattern: DELTA_INTERVAL_PATTERN, help: DELTA_INTERVAL_HELP },
  'delta.checkpointInterval': {
    pattern: '^[1-9][0-9]{0,5}$',
    help: 'use a whole number of commits >= 1, e.g. "10"',
  },
  'delta.dataSkippingNumIndexedCols': {
    pattern: '^(-1|[0-9]{1,4})$',
    help: 'use a whole number of leading columns, or "-1" for all, e.g. "32"',
  },
  'delta.dataSkippingStatsColumns': {
    pattern: '^[A-Za-z_][A-Za-z0-9_.]*(,[A-Za-z_][A-Za-z0-9_.]*)*$',
    help: 'use a comma-separated list of column names, e.g. "order_id,created_at"',
  },
  'delta.columnMapping.mode': { pattern: '^(none|name|id)$', help: 'use "none", "name" or "id"' },
  'delta.isolationLevel': {
    pattern: '^(Serializable|WriteSerializable)$',
    help: 'use "Serializable" or "WriteSerializable"',
  },
  ...Object.fromEntries(
    KNOWN_BOOLEAN_PROPERTIES.map((k) => [
      k,
      { pattern: '^(true|false)$', help: 'use "true" or "false" (quoted)' },
    ]),
  ),
};

const propertyRules = Object.entries(KNOWN_PROPERTIES).map(([key, { pattern, help }]) => ({
  rule: `!('${key}' in self) || self['${key}'].matches('${pattern.replace(/\\/g, '\\\\')}')`,
  message: `properties["${key}"]: ${help}`,
}));

const PropertiesSchema = z
  .record(
    z.string().min(1).max(256).regex(new RegExp(PROPERTY_KEY_PATTERN), {
      error: 'property keys are letters, digits, "_", "-" and "." such as "delta.appendOnly"',
    }),
    z
      .string({
        error: expected(
          'a string: property values are strings, so quote numbers and booleans, e.g. "10" or "true"',
        ),
      })
      .max(4096),
  )
  .superRefine((props, ctx) => {
    if (Object.keys(props).length > MAX_PROPERTIES) {
      ctx.addIssue({
        code: 'custom',
        message: `has more than ${MAX_PROPERTIES} entries; keep the table properties you need`,
      });
    }
    for (const [key, value] of Object.entries(props)) {
      if (new RegExp(CREDENTIAL_KEY).test(key.toLowerCase())) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message:
            'looks like a credential; secrets never go in a LakeTable: put them in a Kubernetes Secret and name it in spec.storageSecretRef.name',
        });
      }
      const known = KNOWN_PROPERTIES[key];
      if (known && typeof value === 'string' && !new RegExp(known.pattern).test(value)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `"${value}" is not valid; ${known.help}` });
      }
    }
  })
  .describe(
    'Delta table properties written to the table, all values strings: delta.logRetentionDuration, ' +
      'delta.deletedFileRetentionDuration ("interval 7 days"), delta.checkpointInterval, ' +
      'delta.dataSkippingNumIndexedCols, delta.dataSkippingStatsColumns, feature flags such as ' +
      'delta.enableDeletionVectors and delta.appendOnly ("true"/"false").',
  )
  .meta({
    maxProperties: MAX_PROPERTIES,
    'x-kubernetes-validations': [
      ...propertyRules,
      {
        rule: `self.all(k, k.matches('${PROPERTY_KEY_PATTERN}'))`,
        message: 'property keys are letters, digits, "_", "-" and "." such as "delta.appendOnly"',
      },
      {
        rule: `self.all(k, !k.lowerAscii().matches('${CREDENTIAL_KEY}'))`,
        message:
          'properties must not hold credentials; put them in a Kubernetes Secret and name it in spec.storageSecretRef.name',
      },
    ],
  });

const CompactionSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .optional()
      .describe(`Run compaction at all. Default ${LAKETABLE_DEFAULTS.maintenanceEnabled}.`),
    schedule: cron(
      'When compaction runs regardless of triggers (cron, in maintenance.window.timeZone).',
    ).optional(),
    triggers: z
      .strictObject({
        smallFileCount: z
          .int({ error: expected('a whole number of files') })
          .min(1)
          .max(10_000_000)
          .optional()
          .describe(
            `Compaction is due when the table has at least this many small files. Default ${LAKETABLE_DEFAULTS.smallFileCount}.`,
          ),
        smallFileRatio: z
          .number({ error: expected('a number above 0 and at most 1, e.g. 0.5') })
          .gt(0, { error: 'must be above 0 and at most 1, e.g. 0.5' })
          .max(1, { error: 'must be above 0 and at most 1, e.g. 0.5' })
          .optional()
          .describe(
            `…or when at least this share of the files is small (and 2 or more). Default ${LAKETABLE_DEFAULTS.smallFileRatio}.`,
          ),
      })
      .optional()
      .describe('Conditions on the table\u2019s measured state that make compaction due.'),
    targetFileSize: size(
      `Size compaction aims for. Default ${LAKETABLE_DEFAULTS.targetFileSize}.`,
    ).optional(),
    minFileSize: size('Files smaller than this are small. Default 3/4 of targetFileSize.').optional(),
    zOrderBy: z
      .array(columnName)
      .min(1)
      .max(MAX_ZORDER_COLUMNS)
      .optional()
      .describe('Columns to Z-order by when compacting (not partition columns).')
      .meta({ 'x-kubernetes-list-type': 'set' }),
  })
  .describe('File compaction (OPTIMIZE).');

const CheckpointSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .optional()
      .describe(`Write checkpoints. Default ${LAKETABLE_DEFAULTS.maintenanceEnabled}.`),
    interval: z
      .int({ error: expected('a whole number of commits') })
      .min(1, { error: 'must be at least 1 commit' })
      .max(100_000)
      .optional()
      .describe(
        `Commits between checkpoints. Default: properties["delta.checkpointInterval"], else ${LAKETABLE_DEFAULTS.checkpointInterval}.`,
      ),
  })
  .describe('Checkpoints of the transaction log.');

const VacuumSchema = z
  .strictObject({
    enabled: z.boolean().optional().describe(`Run vacuum. Default ${LAKETABLE_DEFAULTS.maintenanceEnabled}.`),
    schedule: cron(`When vacuum runs (cron). Default ${LAKETABLE_DEFAULTS.vacuumSchedule}.`).optional(),
    retention: duration(
      `Files removed from the table longer ago than this are deleted, e.g. "168h". Default: the table's ` +
        `delta.deletedFileRetentionDuration; never less than it, nor less than ${MIN_SAFE_RETENTION_HOURS}h unless unsafeAllowShortRetention.`,
    ).optional(),
    unsafeAllowShortRetention: z
      .boolean()
      .optional()
      .describe(
        `Allow retentions below ${MIN_SAFE_RETENTION_HOURS}h. Unsafe: readers and writers older than the retention can fail or read wrong data.`,
      ),
  })
  .describe('Deleting files no table version within the retention reads (VACUUM).');

const WindowSchema = z
  .strictObject({
    schedule: cron('When the window opens (cron), e.g. "0 1 * * *" for 01:00 every day.'),
    duration: duration('How long the window stays open, e.g. "4h".'),
    timeZone: z
      .string()
      .max(64)
      .superRefine((v, ctx) => {
        if (!isValidTimeZone(v))
          ctx.addIssue({
            code: 'custom',
            message: `unknown time zone "${v}"; use an IANA name such as "UTC" or "Europe/Berlin"`,
          });
      })
      .optional()
      .describe(`IANA time zone of the window and every schedule. Default ${LAKETABLE_DEFAULTS.timeZone}.`),
  })
  .describe('When maintenance may start. Without a window, any time.');

const MaintenanceSchema = z
  .strictObject({
    suspend: z.boolean().optional().describe(`Pause all maintenance. Default ${LAKETABLE_DEFAULTS.suspend}.`),
    approval: z
      .enum(APPROVAL_MODES, { error: 'must be "Automatic" or "Manual"' })
      .optional()
      .describe(
        `Automatic: due compaction and vacuum run. Manual: they wait until the annotation ${APPROVE_PLAN_ANNOTATION} holds the id of the current plan (status.plan.id). Default ${LAKETABLE_DEFAULTS.approval}.`,
      ),
    window: WindowSchema.optional(),
    compaction: CompactionSchema.optional(),
    checkpoint: CheckpointSchema.optional(),
    vacuum: VacuumSchema.optional(),
  })
  .describe('Maintenance policy: what runs, when, and on which measured state.');

const CatalogSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .optional()
      .describe(`Register the table in the catalog. Default ${LAKETABLE_DEFAULTS.catalogEnabled}.`),
    database: z
      .string()
      .min(1)
      .max(128)
      .regex(new RegExp(CATALOG_NAME_PATTERN), {
        error: 'use lower-case letters, digits and underscores, e.g. "curated"',
      })
      .optional()
      .describe('Database (Glue) / dataset (BigQuery) / schema name. Default: the zone, or "default".'),
    table: z
      .string()
      .min(1)
      .max(128)
      .regex(new RegExp(CATALOG_NAME_PATTERN), {
        error: 'use lower-case letters, digits and underscores, e.g. "order_features"',
      })
      .optional()
      .describe('Table name in the catalog. Default: metadata.name with "-" and "." as "_".'),
  })
  .describe('Where the table is registered in Glue, BigLake or the Azure catalog.');

const SpecObject = z.strictObject({
  location: z
    .string({ error: expected('a table URI string') })
    .min(1)
    .max(1024)
    .regex(new RegExp(LOCATION_PATTERN), {
      error:
        'a location has no query string, fragment or spaces (credentials and SAS tokens never go in a spec)',
    })
    .optional()
    .describe(
      'Table URI: s3://bucket/prefix, abfss://container@account.dfs.core.windows.net/path, gs://bucket/prefix, file:///path. Exclusive with storage/zone/path.',
    ),
  storage: z
    .string()
    .min(1)
    .max(63)
    .regex(new RegExp(DNS_LABEL), {
      error: 'a storage name is lower-case letters, digits and "-", e.g. "default"',
    })
    .optional()
    .describe(
      `Name of the storage whose zone roots the table lives under. Default "${LAKETABLE_DEFAULTS.storage}".`,
    ),
  zone: z
    .enum(ZONES, { error: `must be one of ${ZONES.join(', ')}` })
    .optional()
    .describe('Storage zone: raw, curated, models or scratch (ephemeral data).'),
  path: z
    .string()
    .min(1)
    .max(512)
    .regex(new RegExp(TABLE_PATH_PATTERN), {
      error:
        'a path is relative, slash-separated names of letters, digits, "_", "-", "." and "=", e.g. "orders/order_features"',
    })
    .refine((p) => !p.split('/').some((s) => s === '..' || s === '.' || s === '_delta_log'), {
      error: 'a path has no "." or ".." segments and no "_delta_log"',
    })
    .optional()
    .describe('Path of the table under the zone root, e.g. "orders/order_features".')
    .meta({
      'x-kubernetes-validations': [
        {
          rule: "!('/' + self + '/').contains('/_delta_log/')",
          message: 'a path has no "_delta_log" segment: name the table\u2019s own folder',
        },
      ],
    }),
  storageSecretRef: z
    .strictObject({
      name: z
        .string()
        .min(1)
        .max(253)
        .regex(new RegExp(DNS_SUBDOMAIN), {
          error: 'a Secret name is lower-case letters, digits, "-" and "."',
        })
        .describe('Name of a Secret in the LakeTable\u2019s namespace.'),
    })
    .optional()
    .describe('Storage credentials, by reference only: a Kubernetes Secret holding storage options.'),
  schema: z
    .strictObject({
      columns: z
        .array(ColumnSchema)
        .min(1, { error: 'a table needs at least one column' })
        .max(MAX_COLUMNS)
        .describe('The table\u2019s columns, in order.')
        .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] }),
    })
    .describe('The table schema.'),
  partitionBy: z
    .array(columnName)
    .max(MAX_PARTITION_COLUMNS)
    .optional()
    .describe('Partition columns: top-level columns of primitive type, not all of them.')
    .meta({ 'x-kubernetes-list-type': 'set' }),
  properties: PropertiesSchema.optional(),
  schemaEvolution: z
    .enum(SCHEMA_EVOLUTION, { error: 'must be "additive" or "none"' })
    .optional()
    .describe(
      `additive: new nullable columns in the spec are added to the table; none: the table schema is never changed. Default ${LAKETABLE_DEFAULTS.schemaEvolution}.`,
    ),
  maintenance: MaintenanceSchema.optional(),
  catalog: CatalogSchema.optional(),
  persistence: z
    .enum(PERSISTENCE, { error: 'must be "durable" or "ephemeral"' })
    .optional()
    .describe(
      'durable: data that affects business operations, audits, billing, several consumers or reporting. ' +
        'ephemeral: session caches and temporary results; lives in the scratch zone and expires by lifecycle rules. ' +
        `Default ${LAKETABLE_DEFAULTS.persistence}.`,
    ),
  deletionPolicy: z
    .enum(DELETION_POLICIES, { error: 'must be "Retain" or "Delete"' })
    .optional()
    .describe(
      `Retain: deleting the resource leaves the data; Delete: the table's files are deleted too. Default ${LAKETABLE_DEFAULTS.deletionPolicy}.`,
    ),
});

/** The spec as parsed, before cross-field rules (the rules' input type). */
export type LakeTableSpec = z.infer<typeof SpecObject>;

// ---------------------------------------------------------------------------------------------
// Cross-field rules: one TypeScript check and one CEL expression each.

export interface RuleViolation {
  /** Path under `spec`. */
  readonly path: (string | number)[];
  readonly message: string;
}

/**
 * A rule JSON Schema cannot express. `cel` runs in the API server with `self` = spec and must
 * accept exactly the documents `check` accepts (a test compares them); `message` is what the API
 * server says. `check` may report more precisely (which entry, which value).
 */
export interface CrossFieldRule {
  readonly id: string;
  /** Absent when the API server can't afford the check (CEL cost limits); parseLakeTable still runs it. */
  readonly cel?: string;
  readonly message: string;
  readonly check: (spec: LakeTableSpec) => RuleViolation[];
}

const has = <T>(v: T | undefined): v is T => v !== undefined;
/** Indexes of entries that repeat an earlier entry. */
const duplicates = (list: readonly string[]): number[] =>
  list.flatMap((v, i) => (list.indexOf(v) < i ? [i] : []));
const MIN_SAFE_RETENTION_MS = MIN_SAFE_RETENTION_HOURS * 3_600_000;

const celVacuum = 'has(self.maintenance) && has(self.maintenance.vacuum)';
const celUnsafe = `(${celVacuum} && has(self.maintenance.vacuum.unsafeAllowShortRetention) && self.maintenance.vacuum.unsafeAllowShortRetention)`;
const celDeletedProp = `has(self.properties) && 'delta.deletedFileRetentionDuration' in self.properties`;
/** CEL: seconds in a valid Delta interval expression `e` (`interval <n> <unit>`). */
const celIntervalSeconds = (e: string) =>
  `(int(${e}.split(' ')[1]) * (${e}.endsWith('week') || ${e}.endsWith('weeks') ? 604800 : ${e}.endsWith('day') || ${e}.endsWith('days') ? 86400 : ${e}.endsWith('hour') || ${e}.endsWith('hours') ? 3600 : ${e}.endsWith('minute') || ${e}.endsWith('minutes') ? 60 : 1))`;
const celDeletedSeconds = `(${celDeletedProp} ? ${celIntervalSeconds("self.properties['delta.deletedFileRetentionDuration']")} : 604800)`;

const deletedFileRetentionMs = (spec: LakeTableSpec): number =>
  parseDeltaInterval(spec.properties?.['delta.deletedFileRetentionDuration'] ?? '') ??
  parseDeltaInterval(LAKETABLE_DEFAULTS.deletedFileRetentionDuration)!;

export const CROSS_FIELD_RULES: readonly CrossFieldRule[] = [
  {
    id: 'location-exclusive',
    cel: '!has(self.location) || (!has(self.storage) && !has(self.zone) && !has(self.path))',
    message:
      'location and storage/zone/path are exclusive: keep location, or remove it and keep zone and path',
    check: (s) =>
      has(s.location) && (has(s.storage) || has(s.zone) || has(s.path))
        ? [
            {
              path: ['location'],
              message:
                'location and storage/zone/path are exclusive: keep location, or remove it and keep zone and path',
            },
          ]
        : [],
  },
  {
    id: 'where',
    cel: 'has(self.location) || (has(self.zone) && has(self.path))',
    message: 'say where the table lives: set location (a table URI), or zone and path',
    check: (s) => {
      if (has(s.location) || (has(s.zone) && has(s.path))) return [];
      if (has(s.zone))
        return [{ path: ['path'], message: 'zone needs a path: set path, e.g. "orders/order_features"' }];
      if (has(s.path))
        return [{ path: ['zone'], message: `path needs a zone: set zone to one of ${ZONES.join(', ')}` }];
      return [
        { path: [], message: 'say where the table lives: set location (a table URI), or zone and path' },
      ];
    },
  },
  {
    id: 'scratch-is-ephemeral',
    cel: "!has(self.zone) || self.zone != 'scratch' || (has(self.persistence) && self.persistence == 'ephemeral')",
    message: 'the scratch zone holds ephemeral data: set persistence: ephemeral, or use another zone',
    check: (s) =>
      s.zone === 'scratch' && s.persistence !== 'ephemeral'
        ? [
            {
              path: ['persistence'],
              message:
                'the scratch zone holds ephemeral data: set persistence: ephemeral, or use another zone',
            },
          ]
        : [],
  },
  {
    id: 'ephemeral-in-scratch',
    cel: "!has(self.persistence) || self.persistence != 'ephemeral' || !has(self.zone) || self.zone == 'scratch'",
    message: 'ephemeral tables live in the scratch zone: set zone: scratch, or persistence: durable',
    check: (s) =>
      s.persistence === 'ephemeral' && has(s.zone) && s.zone !== 'scratch'
        ? [
            {
              path: ['zone'],
              message:
                'ephemeral tables live in the scratch zone: set zone: scratch, or persistence: durable',
            },
          ]
        : [],
  },
  {
    id: 'unique-column-names',
    // No CEL: comparing every pair of up to 1000 columns exceeds the API server's CEL cost budget;
    // the API server still refuses exact duplicates (x-kubernetes-list-map-keys: name).
    message: 'column names must be unique, ignoring case',
    check: (s) => {
      const seen = new Map<string, number>();
      return s.schema.columns.flatMap((c, i) => {
        const key = c.name.toLowerCase();
        const first = seen.get(key);
        if (first === undefined) {
          seen.set(key, i);
          return [];
        }
        return [
          {
            path: ['schema', 'columns', i, 'name'],
            message: `"${c.name}" repeats column ${first} ("${s.schema.columns[first]!.name}"); column names are unique, ignoring case: rename or remove one`,
          },
        ];
      });
    },
  },
  {
    id: 'unique-lists',
    // No CEL: the API server refuses duplicates itself (x-kubernetes-list-type: set).
    message: 'partitionBy and zOrderBy list each column once',
    check: (s) => [
      ...duplicates(s.partitionBy ?? []).map((i) => ({
        path: ['partitionBy', i],
        message: `"${s.partitionBy![i]}" is listed twice; list each partition column once`,
      })),
      ...duplicates(s.maintenance?.compaction?.zOrderBy ?? []).map((i) => ({
        path: ['maintenance', 'compaction', 'zOrderBy', i],
        message: `"${s.maintenance!.compaction!.zOrderBy![i]}" is listed twice; list each Z-order column once`,
      })),
    ],
  },
  {
    id: 'partition-columns-exist',
    cel: '!has(self.partitionBy) || self.partitionBy.all(p, self.schema.columns.exists(c, c.name == p))',
    message: 'every partitionBy entry must be a column of spec.schema.columns',
    check: (s) =>
      (s.partitionBy ?? []).flatMap((p, i) =>
        s.schema.columns.some((c) => c.name === p)
          ? []
          : [
              {
                path: ['partitionBy', i],
                message: `"${p}" is not a column: add it to spec.schema.columns or remove it from partitionBy`,
              },
            ],
      ),
  },
  {
    id: 'partition-columns-primitive',
    // One pass over the columns, and prefix tests rather than scans of the type string, keep the
    // API server's CEL cost estimate within its budget (type names are lower case).
    cel: "!has(self.partitionBy) || self.schema.columns.all(c, !(c.name in self.partitionBy) || !(c.type.startsWith('array') || c.type.startsWith('map') || c.type.startsWith('struct') || c.type == 'binary'))",
    message: 'partition columns must have a primitive type (not array, map, struct or binary)',
    check: (s) =>
      (s.partitionBy ?? []).flatMap((p, i) => {
        const col = s.schema.columns.find((c) => c.name === p);
        if (!col || deltaTypeError(col.type) !== undefined || isPartitionableType(parseDeltaType(col.type)))
          return [];
        return [
          {
            path: ['partitionBy', i],
            message: `"${p}" has type ${col.type}; partition by a column of primitive type (not array, map, struct or binary)`,
          },
        ];
      }),
  },
  {
    id: 'not-all-partition-columns',
    cel: '!has(self.partitionBy) || self.partitionBy.size() < self.schema.columns.size()',
    message: 'at least one column must not be a partition column',
    check: (s) =>
      (s.partitionBy?.length ?? 0) >= s.schema.columns.length
        ? [
            {
              path: ['partitionBy'],
              message:
                'at least one column must not be a partition column: add a data column or partition by fewer',
            },
          ]
        : [],
  },
  {
    id: 'zorder-columns',
    cel:
      '!has(self.maintenance) || !has(self.maintenance.compaction) || !has(self.maintenance.compaction.zOrderBy) || ' +
      'self.maintenance.compaction.zOrderBy.all(z, self.schema.columns.exists(c, c.name == z) && (!has(self.partitionBy) || !(z in self.partitionBy)))',
    message: 'zOrderBy columns must be columns of spec.schema.columns and not partition columns',
    check: (s) =>
      (s.maintenance?.compaction?.zOrderBy ?? []).flatMap((z, i) => {
        const path = ['maintenance', 'compaction', 'zOrderBy', i];
        if (!s.schema.columns.some((c) => c.name === z))
          return [
            {
              path,
              message: `"${z}" is not a column: add it to spec.schema.columns or remove it from zOrderBy`,
            },
          ];
        if (s.partitionBy?.includes(z))
          return [{ path, message: `"${z}" is a partition column; Z-order by data columns only` }];
        return [];
      }),
  },
  {
    id: 'stats-columns',
    // No CEL: splitting a free-length property value exceeds the API server's CEL cost budget.
    // The operator still enforces it through parseLakeTable.
    message: 'properties["delta.dataSkippingStatsColumns"] must name columns of spec.schema.columns',
    check: (s) => {
      const v = s.properties?.['delta.dataSkippingStatsColumns'];
      if (v === undefined) return [];
      const missing = v.split(',').filter((n) => !s.schema.columns.some((c) => c.name === n.split('.')[0]));
      return missing.length === 0
        ? []
        : [
            {
              path: ['properties', 'delta.dataSkippingStatsColumns'],
              message: `${missing.map((m) => `"${m}"`).join(', ')} not a column of spec.schema.columns`,
            },
          ];
    },
  },
  {
    id: 'deleted-file-retention-floor',
    cel: `!(${celDeletedProp}) || ${celUnsafe} || ${celIntervalSeconds("self.properties['delta.deletedFileRetentionDuration']")} >= ${MIN_SAFE_RETENTION_HOURS * 3600}`,
    message: `properties["delta.deletedFileRetentionDuration"] must be at least 7 days ("interval 7 days") unless maintenance.vacuum.unsafeAllowShortRetention is true`,
    check: (s) => {
      const ms = parseDeltaInterval(s.properties?.['delta.deletedFileRetentionDuration'] ?? '');
      if (ms === undefined || ms >= MIN_SAFE_RETENTION_MS || s.maintenance?.vacuum?.unsafeAllowShortRetention)
        return [];
      return [
        {
          path: ['properties', 'delta.deletedFileRetentionDuration'],
          message: `is below 7 days, so readers of older versions can fail: use at least "interval 7 days", or set maintenance.vacuum.unsafeAllowShortRetention: true if you accept that`,
        },
      ];
    },
  },
  {
    id: 'vacuum-retention-floor',
    cel: `!has(self.maintenance) || !has(self.maintenance.vacuum) || !has(self.maintenance.vacuum.retention) || ${celUnsafe} || duration(self.maintenance.vacuum.retention) >= duration('${MIN_SAFE_RETENTION_HOURS}h')`,
    message: `maintenance.vacuum.retention must be at least ${MIN_SAFE_RETENTION_HOURS}h (7 days) unless maintenance.vacuum.unsafeAllowShortRetention is true`,
    check: (s) => {
      const v = s.maintenance?.vacuum;
      const ms = parseDuration(v?.retention ?? '');
      if (ms === undefined || ms >= MIN_SAFE_RETENTION_MS || v?.unsafeAllowShortRetention) return [];
      return [
        {
          path: ['maintenance', 'vacuum', 'retention'],
          message: `"${v!.retention}" is below ${MIN_SAFE_RETENTION_HOURS}h (7 days), so readers of older versions can fail: use at least "${MIN_SAFE_RETENTION_HOURS}h", or set unsafeAllowShortRetention: true if you accept that`,
        },
      ];
    },
  },
  {
    id: 'vacuum-retention-table',
    cel: `!has(self.maintenance) || !has(self.maintenance.vacuum) || !has(self.maintenance.vacuum.retention) || duration(self.maintenance.vacuum.retention).getSeconds() >= ${celDeletedSeconds}`,
    message:
      'maintenance.vacuum.retention must not be below the table\u2019s properties["delta.deletedFileRetentionDuration"] (default 7 days)',
    check: (s) => {
      const ms = parseDuration(s.maintenance?.vacuum?.retention ?? '');
      const table = deletedFileRetentionMs(s);
      if (ms === undefined || ms >= table) return [];
      return [
        {
          path: ['maintenance', 'vacuum', 'retention'],
          message: `"${s.maintenance!.vacuum!.retention}" is below the table's deleted-file retention (${table / 3_600_000}h): raise it, or lower properties["delta.deletedFileRetentionDuration"]`,
        },
      ];
    },
  },
  {
    id: 'checkpoint-interval-agrees',
    cel:
      "!has(self.maintenance) || !has(self.maintenance.checkpoint) || !has(self.maintenance.checkpoint.interval) || !has(self.properties) || !('delta.checkpointInterval' in self.properties) || " +
      "string(self.maintenance.checkpoint.interval) == self.properties['delta.checkpointInterval']",
    message:
      'maintenance.checkpoint.interval and properties["delta.checkpointInterval"] disagree: set one, or make them equal',
    check: (s) => {
      const a = s.maintenance?.checkpoint?.interval;
      const b = s.properties?.['delta.checkpointInterval'];
      return a !== undefined && b !== undefined && String(a) !== b
        ? [
            {
              path: ['maintenance', 'checkpoint', 'interval'],
              message: `${a} disagrees with properties["delta.checkpointInterval"] "${b}": set one, or make them equal`,
            },
          ]
        : [];
    },
  },
  {
    id: 'min-file-size',
    cel:
      '!has(self.maintenance) || !has(self.maintenance.compaction) || !has(self.maintenance.compaction.minFileSize) || ' +
      `quantity(self.maintenance.compaction.minFileSize).compareTo(quantity(has(self.maintenance.compaction.targetFileSize) ? self.maintenance.compaction.targetFileSize : '${LAKETABLE_DEFAULTS.targetFileSize}')) <= 0`,
    message: `maintenance.compaction.minFileSize must not exceed targetFileSize (default ${LAKETABLE_DEFAULTS.targetFileSize})`,
    check: (s) => {
      const c = s.maintenance?.compaction;
      const min = parseSize(c?.minFileSize ?? '');
      const target = parseSize(c?.targetFileSize ?? LAKETABLE_DEFAULTS.targetFileSize)!;
      return min !== undefined && min > target
        ? [
            {
              path: ['maintenance', 'compaction', 'minFileSize'],
              message: `"${c!.minFileSize}" exceeds targetFileSize (${c?.targetFileSize ?? LAKETABLE_DEFAULTS.targetFileSize}): lower it or raise the target`,
            },
          ]
        : [];
    },
  },
];

/** The CEL rules of the spec object, as `x-kubernetes-validations`. */
export function specCelRules(): { rule: string; message: string }[] {
  return CROSS_FIELD_RULES.flatMap((r) => (r.cel === undefined ? [] : [{ rule: r.cel, message: r.message }]));
}

export const SpecSchema = SpecObject.superRefine((spec, ctx) => {
  for (const rule of CROSS_FIELD_RULES) {
    let violations: RuleViolation[];
    try {
      violations = rule.check(spec);
    } catch {
      // zod runs refinements after non-fatal field errors too; a rule that trips over such a
      // field has nothing to add to the field's own issue.
      continue;
    }
    for (const v of violations) ctx.addIssue({ code: 'custom', path: v.path, message: v.message });
  }
})
  .describe('The desired table: where it lives, its schema, properties, maintenance and catalog entry.')
  .meta({ 'x-kubernetes-validations': specCelRules() });

// ---------------------------------------------------------------------------------------------
// Status (written by the operator and `lakehouse reconcile`; Kubernetes conventions)

const time = () => z.string().describe('RFC 3339 time.').meta({ format: 'date-time' });
const count = (description: string) => z.int().min(0).optional().describe(description);

export const ConditionSchema = z
  .looseObject({
    type: z.string().max(316).describe('Ready, SchemaInSync, MaintenanceHealthy or Degraded.'),
    status: z.enum(['True', 'False', 'Unknown']),
    reason: z.string().max(1024).optional().describe('CamelCase reason.'),
    message: z.string().max(32768).optional(),
    lastTransitionTime: time().optional(),
    observedGeneration: z.int().min(0).optional(),
  })
  .describe('A Kubernetes condition.');

export const MaintenanceRunSchema = z
  .looseObject({
    startTime: time().optional(),
    completionTime: time().optional(),
    result: z.enum(['Succeeded', 'Failed', 'Running', 'Skipped']).optional(),
    message: z.string().max(4096).optional(),
    version: count('Table version the run committed.'),
    filesAdded: count('Files added.'),
    filesRemoved: count('Files removed (or deleted, for vacuum).'),
    bytesAdded: count('Bytes added.'),
    bytesRemoved: count('Bytes removed (or deleted, for vacuum).'),
    jobs: count('Kubernetes Jobs the run was split into.'),
    memoryLimit: count('Peak memory (bytes) the run was planned to stay under (compaction).'),
    estimatedPeakMemory: count('Peak memory (bytes) the run was estimated to reach (compaction).'),
  })
  .describe('The last run of a maintenance operation.');

const number = (description: string) => z.number().min(0).optional().describe(description);

export const PlanStatusSchema = z
  .looseObject({
    id: z
      .string()
      .max(64)
      .describe(
        `Plan id; under maintenance.approval Manual, the value of ${APPROVE_PLAN_ANNOTATION} that approves it.`,
      ),
    phase: z
      .enum(['Planned', 'AwaitingApproval', 'Running', 'Applied', 'Failed'])
      .optional()
      .describe(
        'Planned: about to run; AwaitingApproval: waits for the annotation; Running: handed to Kubernetes Jobs; Applied or Failed: how the run ended.',
      ),
    approval: z.enum(APPROVAL_MODES).optional().describe('The approval mode the plan was made under.'),
    version: count('Table version the plan was computed at.'),
    computedAt: time().optional(),
    actions: z
      .array(z.looseObject({ kind: z.string().max(32), reason: z.string().max(4096).optional() }))
      .optional()
      .describe('Due maintenance, in the order it runs.'),
    filesToRewrite: count('Files compaction rewrites.'),
    bytesToRewrite: count('Bytes compaction rewrites.'),
    filesToWrite: count('Files compaction writes.'),
    filesToDelete: count('Files vacuum deletes.'),
    bytesToDelete: count('Bytes vacuum deletes.'),
    timeTravelLostFrom: count('Oldest version vacuum makes unreadable.'),
    timeTravelLostTo: count('Newest version vacuum makes unreadable.'),
    requests: z
      .looseObject({
        read: count('GET/HEAD'),
        write: count('PUT'),
        list: count('LIST'),
        delete: count('DELETE'),
      })
      .optional()
      .describe('Estimated storage requests.'),
    estimatedCost: number('Estimated request cost, in currency.'),
    currency: z.string().max(8).optional(),
    message: z.string().max(4096).optional().describe('The plan in one line, with how to approve it.'),
  })
  .describe('The maintenance plan: what the next maintenance does and costs, shown before it runs.');

export const HealthStatusSchema = z
  .looseObject({
    score: z.int().min(0).max(100).optional().describe('0-100; 100: nothing to do.'),
    smallFileRatio: number('Small files / files.'),
    files: count('Data files.'),
    bytes: count('Bytes of data files.'),
    smallFiles: count('Data files below minFileSize.'),
    commitsSinceCheckpoint: count('Commits after the last checkpoint.'),
    openLatestMs: number('Time to open the latest snapshot, ms.'),
    removedBytesInRetention: count(
      'Bytes of removed files inside the retention window (kept for time travel).',
    ),
    orphanBytes: count('Bytes of files no version inside the window reads.'),
    orphanFiles: count('Files no version inside the window reads.'),
    reclaimableBytes: count('Of those, bytes older than the window (vacuum deletes them).'),
    reclaimableFiles: count('Of those, files older than the window.'),
    orphansMeasuredAt: time().optional().describe('When the table was last listed for orphans.'),
    lastOptimizeTime: time().optional(),
    lastVacuumTime: time().optional(),
    lastCheckpointTime: time().optional(),
    deductions: z.string().max(4096).optional().describe('Why the score is below 100.'),
  })
  .describe('Health measures of the table (lib/ops/health.ts) and their score.');

export const StatusSchema = z
  .looseObject({
    observedGeneration: z.int().min(0).optional().describe('metadata.generation the status describes.'),
    conditions: z
      .array(ConditionSchema)
      .optional()
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }),
    location: z.string().optional().describe('Resolved table URI.'),
    version: count('Current table version.'),
    files: count('Data files in the current version.'),
    bytes: count('Bytes of data files in the current version.'),
    smallFiles: count('Data files smaller than minFileSize.'),
    commitsSinceCheckpoint: count('Commits after the last checkpoint.'),
    lastReconcileTime: time().optional(),
    lastCompaction: MaintenanceRunSchema.optional(),
    lastCheckpoint: MaintenanceRunSchema.optional(),
    lastVacuum: MaintenanceRunSchema.optional(),
    nextCompaction: time().optional().describe('When compaction is next due.'),
    nextCheckpoint: time().optional(),
    nextVacuum: time().optional(),
    plan: PlanStatusSchema.optional(),
    health: HealthStatusSchema.optional(),
  })
  .describe('Observed state, written by the operator.');

export const MetadataSchema = z
  .looseObject({
    name: z
      .string({
        error: (iss) =>
          iss.code === 'invalid_type'
            ? iss.input === undefined
              ? 'every LakeTable needs metadata.name: add one, e.g. "order-features"'
              : 'must be a string'
            : undefined,
      })
      .min(1)
      .max(253)
      .regex(new RegExp(DNS_SUBDOMAIN), {
        error:
          'a name is lower-case letters, digits, "-" and ".", starting and ending with a letter or digit, e.g. "order-features"',
      }),
    namespace: z
      .string()
      .max(63)
      .regex(new RegExp(DNS_LABEL), { error: 'a namespace is lower-case letters, digits and "-"' })
      .optional(),
    labels: z
      .record(z.string(), z.string({ error: expected('a string: label values are strings') }))
      .optional(),
    annotations: z
      .record(z.string(), z.string({ error: expected('a string: annotation values are strings') }))
      .optional(),
  })
  .describe('Kubernetes object metadata.');

export const LakeTableSchema = z
  .strictObject({
    apiVersion: z.literal(LAKETABLE_API_VERSION, { error: `apiVersion must be "${LAKETABLE_API_VERSION}"` }),
    kind: z.literal(LAKETABLE_KIND, { error: `kind must be "${LAKETABLE_KIND}"` }),
    metadata: MetadataSchema,
    spec: SpecSchema,
    status: StatusSchema.optional(),
  })
  .describe('A Delta table, declared: where it lives, its schema and how it is maintained.');

/** A LakeTable document as written (optional fields stay optional; see LAKETABLE_DEFAULTS). */
export type LakeTable = z.infer<typeof LakeTableSchema>;
export type LakeTableColumn = z.infer<typeof ColumnSchema>;
export type LakeTableStatus = z.infer<typeof StatusSchema>;
export type LakeTableCondition = z.infer<typeof ConditionSchema>;
export type MaintenanceRun = z.infer<typeof MaintenanceRunSchema>;
export type PlanStatus = z.infer<typeof PlanStatusSchema>;
export type HealthStatus = z.infer<typeof HealthStatusSchema>;
