/** Documents shared by the spec tests: a minimal valid LakeTable and a helper to vary it. */
import {
  CROSS_FIELD_RULES,
  validateLakeTable,
  type CrossFieldRule,
  type LakeTable,
} from '../../lib/spec/index.js';

/** A fresh, valid, minimal LakeTable document (plain data, as YAML would give it). */
export function baseDoc(): Record<string, any> {
  return {
    apiVersion: 'lakehouse.dev/v1alpha1',
    kind: 'LakeTable',
    metadata: { name: 'orders' },
    spec: {
      zone: 'curated',
      path: 'sales/orders',
      schema: {
        columns: [
          { name: 'order_id', type: 'string', nullable: false },
          { name: 'amount', type: 'decimal(12,2)' },
          { name: 'day', type: 'date' },
          { name: 'tags', type: 'array<string>' },
        ],
      },
    },
  };
}

/** baseDoc with `change` applied to a deep copy. */
export function docWith(change: (doc: Record<string, any>) => void): Record<string, any> {
  const d = baseDoc();
  change(d);
  return d;
}

export type Doc = Record<string, any> | LakeTable;

/** A valid document that sets every spec field. */
export function fullDoc(): Record<string, any> {
  return docWith((d) => {
    d.metadata = {
      name: 'orders.v2',
      namespace: 'sales',
      labels: { team: 'orders' },
      annotations: { a: 'b' },
    };
    d.spec.storage = 'primary';
    d.spec.storageSecretRef = { name: 'minio-credentials' };
    d.spec.partitionBy = ['day'];
    d.spec.properties = {
      'delta.logRetentionDuration': 'interval 60 days',
      'delta.deletedFileRetentionDuration': 'interval 2 weeks',
      'delta.checkpointInterval': '20',
      'delta.dataSkippingNumIndexedCols': '-1',
      'delta.dataSkippingStatsColumns': 'order_id,amount',
      'delta.enableDeletionVectors': 'true',
      'delta.appendOnly': 'false',
      'delta.columnMapping.mode': 'name',
      'owner.team': 'sales',
    };
    d.spec.schemaEvolution = 'none';
    d.spec.maintenance = {
      suspend: false,
      window: { schedule: '0 1 * * *', duration: '4h', timeZone: 'Europe/Berlin' },
      compaction: {
        enabled: true,
        schedule: '@daily',
        triggers: { smallFileCount: 10, smallFileRatio: 0.25 },
        targetFileSize: '256Mi',
        minFileSize: '200Mi',
        zOrderBy: ['order_id'],
      },
      checkpoint: { enabled: true, interval: 20 },
      vacuum: { enabled: true, schedule: '0 3 * * 0', retention: '336h' },
    };
    d.spec.catalog = { enabled: true, database: 'sales', table: 'orders_v2' };
    d.spec.persistence = 'durable';
    d.spec.deletionPolicy = 'Delete';
  });
}

/** [what, change to the base document, expected path, expected message]. */
export const BAD_DOCUMENTS: [string, (d: Record<string, any>) => void, string, RegExp][] = [
  [
    'wrong apiVersion',
    (d) => (d.apiVersion = 'v1'),
    'apiVersion',
    /apiVersion must be "lakehouse\.dev\/v1alpha1"/,
  ],
  ['wrong kind', (d) => (d.kind = 'Table'), 'kind', /kind must be "LakeTable"/],
  ['no metadata', (d) => delete d.metadata, 'metadata', /required: add "metadata"/],
  [
    'no name',
    (d) => delete d.metadata.name,
    'metadata.name',
    /every LakeTable needs metadata\.name: add one/,
  ],
  [
    'upper-case name',
    (d) => (d.metadata.name = 'Orders'),
    'metadata.name',
    /a name is lower-case letters, digits/,
  ],
  [
    'bad namespace',
    (d) => (d.metadata.namespace = 'Sales_NS'),
    'metadata.namespace',
    /a namespace is lower-case/,
  ],
  [
    'numeric label value',
    (d) => (d.metadata.labels = { tier: 1 }),
    'metadata.labels.tier',
    /must be a string: label values are strings/,
  ],
  ['unknown top-level field', (d) => (d.specs = {}), 'specs', /unknown field: remove it or fix its spelling/],
  ['unknown spec field', (d) => (d.spec.partitionedBy = ['day']), 'spec.partitionedBy', /unknown field/],
  ['no spec', (d) => delete d.spec, 'spec', /required: add "spec"/],
  [
    'location and zone',
    (d) => (d.spec.location = 's3://b/t'),
    'spec.location',
    /location and storage\/zone\/path are exclusive: keep location, or remove it and keep zone and path/,
  ],
  [
    'neither location nor zone',
    (d) => {
      delete d.spec.zone;
      delete d.spec.path;
    },
    'spec',
    /say where the table lives: set location \(a table URI\), or zone and path/,
  ],
  ['zone without path', (d) => delete d.spec.path, 'spec.path', /zone needs a path: set path/],
  [
    'path without zone',
    (d) => delete d.spec.zone,
    'spec.zone',
    /path needs a zone: set zone to one of raw, curated, models, scratch/,
  ],
  [
    'unknown zone',
    (d) => (d.spec.zone = 'bronze'),
    'spec.zone',
    /must be one of raw, curated, models, scratch/,
  ],
  [
    'path climbing out',
    (d) => (d.spec.path = '../other'),
    'spec.path',
    /a path is relative, slash-separated names/,
  ],
  ['absolute path', (d) => (d.spec.path = '/sales/orders'), 'spec.path', /a path is relative/],
  [
    'path into the log',
    (d) => (d.spec.path = 'sales/_delta_log'),
    'spec.path',
    /no "\." or "\.\." segments and no "_delta_log"/,
  ],
  [
    'SAS token in location',
    (d) => {
      delete d.spec.zone;
      delete d.spec.path;
      d.spec.location = 'az://c/t?sv=2024&sig=abc';
    },
    'spec.location',
    /no query string, fragment or spaces \(credentials and SAS tokens never go in a spec\)/,
  ],
  [
    'bad storage name',
    (d) => (d.spec.storage = 'My Storage'),
    'spec.storage',
    /a storage name is lower-case letters, digits and "-"/,
  ],
  [
    'secret value instead of a reference',
    (d) => (d.spec.storageSecretRef = { name: 'creds', key: 'AKIA' }),
    'spec.storageSecretRef.key',
    /unknown field/,
  ],
  [
    'bad secret name',
    (d) => (d.spec.storageSecretRef = { name: 'My Secret' }),
    'spec.storageSecretRef.name',
    /a Secret name is lower-case/,
  ],
  ['no schema', (d) => delete d.spec.schema, 'spec.schema', /required: add "schema"/],
  [
    'no columns',
    (d) => (d.spec.schema.columns = []),
    'spec.schema.columns',
    /a table needs at least one column/,
  ],
  [
    'column name with a space',
    (d) => (d.spec.schema.columns[0].name = 'order id'),
    'spec.schema.columns[0].name',
    /column names are letters, digits and underscores/,
  ],
  [
    'column name starting with a digit',
    (d) => (d.spec.schema.columns[0].name = '1st'),
    'spec.schema.columns[0].name',
    /not starting with a digit/,
  ],
  [
    'unknown column type',
    (d) => (d.spec.schema.columns[1].type = 'money'),
    'spec.schema.columns[1].type',
    /unknown type "money"; use a Delta type/,
  ],
  [
    'decimal too wide',
    (d) => (d.spec.schema.columns[1].type = 'decimal(40,2)'),
    'spec.schema.columns[1].type',
    /decimal precision 40 is outside 1\.\.38/,
  ],
  [
    'type not a string',
    (d) => (d.spec.schema.columns[1].type = 5),
    'spec.schema.columns[1].type',
    /must be a Delta type string such as "long"/,
  ],
  [
    'nullable as a string',
    (d) => (d.spec.schema.columns[1].nullable = 'no'),
    'spec.schema.columns[1].nullable',
    /must be a boolean, got string/,
  ],
  [
    'misspelled column field',
    (d) => (d.spec.schema.columns[1].nulable = false),
    'spec.schema.columns[1].nulable',
    /unknown field/,
  ],
  [
    'duplicate column ignoring case',
    (d) => d.spec.schema.columns.push({ name: 'Order_ID', type: 'long' }),
    'spec.schema.columns[4].name',
    /"Order_ID" repeats column 0 \("order_id"\); column names are unique, ignoring case/,
  ],
  [
    'partition by a non-column',
    (d) => (d.spec.partitionBy = ['region']),
    'spec.partitionBy[0]',
    /"region" is not a column: add it to spec\.schema\.columns or remove it from partitionBy/,
  ],
  [
    'partition by an array',
    (d) => (d.spec.partitionBy = ['tags']),
    'spec.partitionBy[0]',
    /"tags" has type array<string>; partition by a column of primitive type/,
  ],
  [
    'partition by every column',
    (d) => (d.spec.partitionBy = ['order_id', 'amount', 'day', 'tags']),
    'spec.partitionBy',
    /at least one column must not be a partition column/,
  ],
  [
    'partition column twice',
    (d) => (d.spec.partitionBy = ['day', 'day']),
    'spec.partitionBy[1]',
    /"day" is listed twice/,
  ],
  [
    'too many partition columns',
    (d) => (d.spec.partitionBy = Array.from({ length: 9 }, (_, i) => `c${i}`)),
    'spec.partitionBy',
    /must have at most 8 entries/,
  ],
  [
    'unquoted boolean property',
    (d) => (d.spec.properties = { 'delta.appendOnly': true }),
    'spec.properties["delta.appendOnly"]',
    /must be a string: property values are strings, so quote numbers and booleans/,
  ],
  [
    'checkpoint interval 0',
    (d) => (d.spec.properties = { 'delta.checkpointInterval': '0' }),
    'spec.properties["delta.checkpointInterval"]',
    /"0" is not valid; use a whole number of commits >= 1/,
  ],
  [
    'feature flag "yes"',
    (d) => (d.spec.properties = { 'delta.enableDeletionVectors': 'yes' }),
    'spec.properties["delta.enableDeletionVectors"]',
    /use "true" or "false"/,
  ],
  [
    'retention without "interval"',
    (d) => (d.spec.properties = { 'delta.logRetentionDuration': '30 days' }),
    'spec.properties["delta.logRetentionDuration"]',
    /use the Delta interval format "interval <n> <unit>"/,
  ],
  [
    'bad data-skipping count',
    (d) => (d.spec.properties = { 'delta.dataSkippingNumIndexedCols': 'all' }),
    'spec.properties["delta.dataSkippingNumIndexedCols"]',
    /or "-1" for all/,
  ],
  [
    'bad column mapping mode',
    (d) => (d.spec.properties = { 'delta.columnMapping.mode': 'names' }),
    'spec.properties["delta.columnMapping.mode"]',
    /use "none", "name" or "id"/,
  ],
  [
    'stats on a non-column',
    (d) => (d.spec.properties = { 'delta.dataSkippingStatsColumns': 'order_id,region' }),
    'spec.properties["delta.dataSkippingStatsColumns"]',
    /"region" not a column/,
  ],
  [
    'credential in properties',
    (d) => (d.spec.properties = { 'fs.s3a.secret.key': 'x' }),
    'spec.properties["fs.s3a.secret.key"]',
    /secrets never go in a LakeTable: put them in a Kubernetes Secret and name it in spec\.storageSecretRef\.name/,
  ],
  [
    'bad property key',
    (d) => (d.spec.properties = { 'has space': 'x' }),
    'spec.properties["has space"]',
    /property keys are letters, digits/,
  ],
  [
    'deleted-file retention below 7 days',
    (d) => (d.spec.properties = { 'delta.deletedFileRetentionDuration': 'interval 2 days' }),
    'spec.properties["delta.deletedFileRetentionDuration"]',
    /is below 7 days.*use at least "interval 7 days", or set maintenance\.vacuum\.unsafeAllowShortRetention: true/,
  ],
  [
    'vacuum retention below 168h',
    (d) => (d.spec.maintenance = { vacuum: { retention: '24h' } }),
    'spec.maintenance.vacuum.retention',
    /"24h" is below 168h \(7 days\).*use at least "168h", or set unsafeAllowShortRetention: true/,
  ],
  [
    'vacuum retention below the table retention',
    (d) => {
      d.spec.properties = { 'delta.deletedFileRetentionDuration': 'interval 10 days' };
      d.spec.maintenance = { vacuum: { retention: '200h' } };
    },
    'spec.maintenance.vacuum.retention',
    /"200h" is below the table's deleted-file retention \(240h\): raise it, or lower properties\["delta\.deletedFileRetentionDuration"\]/,
  ],
  [
    'vacuum retention in days',
    (d) => (d.spec.maintenance = { vacuum: { retention: '7d' } }),
    'spec.maintenance.vacuum.retention',
    /not a duration; use hours, minutes and seconds such as "168h".*7 days = "168h"/,
  ],
  [
    'vacuum retention as a number',
    (d) => (d.spec.maintenance = { vacuum: { retention: 168 } }),
    'spec.maintenance.vacuum.retention',
    /must be a duration string/,
  ],
  [
    'bad cron',
    (d) => (d.spec.maintenance = { vacuum: { schedule: '0 25 * * *' } }),
    'spec.maintenance.vacuum.schedule',
    /hour field "25": 25 is outside 0-23; use five fields/,
  ],
  [
    'window without duration',
    (d) => (d.spec.maintenance = { window: { schedule: '0 1 * * *' } }),
    'spec.maintenance.window.duration',
    /required: add a duration string; use hours, minutes and seconds/,
  ],
  [
    'unknown time zone',
    (d) =>
      (d.spec.maintenance = { window: { schedule: '0 1 * * *', duration: '2h', timeZone: 'Mars/Olympus' } }),
    'spec.maintenance.window.timeZone',
    /unknown time zone "Mars\/Olympus"; use an IANA name/,
  ],
  [
    'small-file ratio above 1',
    (d) => (d.spec.maintenance = { compaction: { triggers: { smallFileRatio: 1.5 } } }),
    'spec.maintenance.compaction.triggers.smallFileRatio',
    /must be above 0 and at most 1/,
  ],
  [
    'small-file ratio 0',
    (d) => (d.spec.maintenance = { compaction: { triggers: { smallFileRatio: 0 } } }),
    'spec.maintenance.compaction.triggers.smallFileRatio',
    /must be above 0 and at most 1/,
  ],
  [
    'small-file count 0',
    (d) => (d.spec.maintenance = { compaction: { triggers: { smallFileCount: 0 } } }),
    'spec.maintenance.compaction.triggers.smallFileCount',
    /must be at least 1/,
  ],
  [
    'fractional small-file count',
    (d) => (d.spec.maintenance = { compaction: { triggers: { smallFileCount: 2.5 } } }),
    'spec.maintenance.compaction.triggers.smallFileCount',
    /must be a whole number of files/,
  ],
  [
    'size as a number',
    (d) => (d.spec.maintenance = { compaction: { targetFileSize: 134217728 } }),
    'spec.maintenance.compaction.targetFileSize',
    /must be a string; use a size string such as "128Mi", "1Gi", "512M" or "134217728" \(bytes\), in quotes/,
  ],
  [
    'size with MB',
    (d) => (d.spec.maintenance = { compaction: { targetFileSize: '128MB' } }),
    'spec.maintenance.compaction.targetFileSize',
    /not a size; use a size string such as "128Mi"/,
  ],
  [
    'min size above target',
    (d) => (d.spec.maintenance = { compaction: { minFileSize: '200Mi' } }),
    'spec.maintenance.compaction.minFileSize',
    /"200Mi" exceeds targetFileSize \(128Mi\): lower it or raise the target/,
  ],
  [
    'z-order by a non-column',
    (d) => (d.spec.maintenance = { compaction: { zOrderBy: ['customer'] } }),
    'spec.maintenance.compaction.zOrderBy[0]',
    /"customer" is not a column/,
  ],
  [
    'z-order by a partition column',
    (d) => {
      d.spec.partitionBy = ['day'];
      d.spec.maintenance = { compaction: { zOrderBy: ['day'] } };
    },
    'spec.maintenance.compaction.zOrderBy[0]',
    /"day" is a partition column; Z-order by data columns only/,
  ],
  [
    'checkpoint interval 0',
    (d) => (d.spec.maintenance = { checkpoint: { interval: 0 } }),
    'spec.maintenance.checkpoint.interval',
    /must be at least 1 commit/,
  ],
  [
    'checkpoint intervals disagree',
    (d) => {
      d.spec.properties = { 'delta.checkpointInterval': '10' };
      d.spec.maintenance = { checkpoint: { interval: 20 } };
    },
    'spec.maintenance.checkpoint.interval',
    /20 disagrees with properties\["delta\.checkpointInterval"\] "10": set one, or make them equal/,
  ],
  [
    'suspend as a string',
    (d) => (d.spec.maintenance = { suspend: 'yes' }),
    'spec.maintenance.suspend',
    /must be a boolean/,
  ],
  [
    'unknown maintenance job',
    (d) => (d.spec.maintenance = { optimize: {} }),
    'spec.maintenance.optimize',
    /unknown field/,
  ],
  [
    'unknown schema evolution',
    (d) => (d.spec.schemaEvolution = 'full'),
    'spec.schemaEvolution',
    /must be "additive" or "none"/,
  ],
  [
    'unknown persistence',
    (d) => (d.spec.persistence = 'temporary'),
    'spec.persistence',
    /must be "durable" or "ephemeral"/,
  ],
  [
    'durable data in scratch',
    (d) => (d.spec.zone = 'scratch'),
    'spec.persistence',
    /the scratch zone holds ephemeral data: set persistence: ephemeral, or use another zone/,
  ],
  [
    'ephemeral data in curated',
    (d) => (d.spec.persistence = 'ephemeral'),
    'spec.zone',
    /ephemeral tables live in the scratch zone: set zone: scratch, or persistence: durable/,
  ],
  [
    'lower-case deletion policy',
    (d) => (d.spec.deletionPolicy = 'delete'),
    'spec.deletionPolicy',
    /must be "Retain" or "Delete"/,
  ],
  [
    'catalog database with a dash',
    (d) => (d.spec.catalog = { database: 'sales-db' }),
    'spec.catalog.database',
    /use lower-case letters, digits and underscores/,
  ],
];

/**
 * The BAD_DOCUMENTS whose every issue comes from a cross-field rule (their fields are otherwise
 * well-formed, so the API server's CEL rules run on them), with the rules they break.
 */
export function crossFieldCases(): [string, Record<string, any>, CrossFieldRule[]][] {
  return BAD_DOCUMENTS.flatMap(([what, change]) => {
    const doc = docWith(change);
    const r = validateLakeTable(doc, 't');
    if (r.ok) return [];
    let broken: CrossFieldRule[];
    try {
      broken = CROSS_FIELD_RULES.filter((rule) => rule.check(doc.spec).length > 0);
    } catch {
      return []; // not shaped like a spec: the schema refuses it before any rule runs
    }
    const messages = broken.flatMap((rule) => rule.check(doc.spec).map((v) => v.message));
    return r.issues.every((i) => messages.includes(i.message)) ? [[what, doc, broken]] : [];
  });
}
