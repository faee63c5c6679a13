/**
 * Every default of the Pulumi components and program, in one place. Components read their
 * defaults from here with `??` (an explicit `0` or `false` is kept), the doc comments point here,
 * and the README's table is rendered by {@link defaultsMarkdownTable}; a test checks that the
 * README still shows what the code does.
 */
import { LakehouseError } from '../lib/errors.js';
import { ZONES, type Zone } from '../lib/spec/defaults.js';

/** The storage zones, in creation order: the LakeTable spec's `ZONES`. */
export const LAKEHOUSE_ZONES: readonly Zone[] = ZONES;
export type LakehouseZone = Zone;

/**
 * The lifecycle of one zone, with the same names on Azure and GCP. Every day count may be `0`;
 * `false` turns the rule off.
 *
 * Delta-safe by construction: tiering only moves a table's data files (the prefixes
 * `<table>/<first partition column>=` or `<table>/part-`, which never match `_delta_log/`) and
 * only to online tiers that read in milliseconds (Azure Cool/Cold, GCS Nearline/Coldline; never
 * Azure Archive, which must be rehydrated before a read). Only `scratch` may expire objects.
 */
export interface ZoneLifecycle {
  /** Days after the last modification when a data file moves to Azure Cool / GCS Nearline. */
  readonly coolAfterDays?: number | false;
  /** Days after the last modification when a data file moves to Azure Cold / GCS Coldline. */
  readonly coldAfterDays?: number | false;
  /**
   * Days a deleted or overwritten object is kept (GCS: noncurrent versions; VACUUM leaves them
   * behind and no live table version reads them). Azure keeps deleted blobs by the account-wide
   * soft delete instead (`azure.softDeleteRetentionDays`).
   */
  readonly noncurrentVersionExpirationDays?: number | false;
  /**
   * Days after the last modification when objects are deleted. Allowed only in `scratch`:
   * anywhere else it would delete files and `_delta_log/` entries of live tables.
   */
  readonly expirationDays?: number | false;
  /** GCS: days after which an unfinished multipart upload is aborted (Azure drops uncommitted blocks after 7 days itself). */
  readonly abortIncompleteMultipartUploadDays?: number | false;
}

/** A zone lifecycle with every field decided. */
export type ResolvedZoneLifecycle = Required<ZoneLifecycle>;

export const PULUMI_LAKEHOUSE_DEFAULTS = {
  /** Prefix of every resource name; include the environment (`lakehouse-dev`). */
  namePrefix: 'lakehouse',
  /** Zones created when none are listed. */
  zones: LAKEHOUSE_ZONES,
  /** Folder of LakeTable documents registered in the catalog, relative to the project root. */
  tablesDir: 'examples/lakehouse',
  /** Per-zone lifecycle. */
  lifecycle: {
    raw: {
      coolAfterDays: 30,
      coldAfterDays: false,
      noncurrentVersionExpirationDays: 30,
      expirationDays: false,
      abortIncompleteMultipartUploadDays: 7,
    },
    curated: {
      coolAfterDays: 90,
      coldAfterDays: false,
      noncurrentVersionExpirationDays: 30,
      expirationDays: false,
      abortIncompleteMultipartUploadDays: 7,
    },
    models: {
      coolAfterDays: 30,
      coldAfterDays: 180,
      noncurrentVersionExpirationDays: 90,
      expirationDays: false,
      abortIncompleteMultipartUploadDays: 7,
    },
    scratch: {
      coolAfterDays: false,
      coldAfterDays: false,
      noncurrentVersionExpirationDays: 1,
      expirationDays: 7,
      abortIncompleteMultipartUploadDays: 1,
    },
  } satisfies Record<LakehouseZone, ResolvedZoneLifecycle>,
  /** Kubernetes namespace of the operator (workload identity subject). */
  kubernetesNamespace: 'lakehouse',
  /** Kubernetes service account of the operator (workload identity subject). */
  kubernetesServiceAccount: 'lakehouse-operator',
  azure: {
    /** Storage account redundancy. */
    storageSku: 'Standard_ZRS',
    /** Days a deleted blob (VACUUM, log clean-up) can be undeleted; Azure allows 1 to 365. */
    softDeleteRetentionDays: 7,
    /** Days a deleted filesystem can be undeleted. */
    containerSoftDeleteRetentionDays: 7,
    /** Storage firewall default: `Deny` lets in only the listed subnets and IP ranges. */
    networkDefaultAction: 'Deny',
    /** Hive Metastore database on PostgreSQL Flexible Server. */
    hiveMetastore: true,
    /** Databricks Unity Catalog access connector. */
    unityCatalog: false,
    postgresVersion: '16',
    postgresSkuName: 'Standard_B1ms',
    postgresSkuTier: 'Burstable',
    postgresStorageGb: 32,
    postgresBackupRetentionDays: 14,
  },
  gcp: {
    /** Bucket and BigQuery location. */
    location: 'EU',
    /** Days GCS keeps soft-deleted objects (on top of versioning); 7 is GCS's own default. */
    softDeleteRetentionDays: 7,
  },
} as const;

/** The README table of lifecycle defaults, rendered from {@link PULUMI_LAKEHOUSE_DEFAULTS}. */
export function defaultsMarkdownTable(): string {
  const show = (v: number | false): string => (v === false ? 'never' : `${v} d`);
  const rows = [
    '| zone | Cool / Nearline | Cold / Coldline | noncurrent versions expire (GCS) | objects expire | abort multipart uploads (GCS) |',
    '|---|---|---|---|---|---|',
  ];
  for (const zone of LAKEHOUSE_ZONES) {
    const l: ResolvedZoneLifecycle = PULUMI_LAKEHOUSE_DEFAULTS.lifecycle[zone];
    rows.push(
      `| ${zone} | ${show(l.coolAfterDays)} | ${show(l.coldAfterDays)} | ` +
        `${show(l.noncurrentVersionExpirationDays)} | ${show(l.expirationDays)} | ` +
        `${show(l.abortIncompleteMultipartUploadDays)} |`,
    );
  }
  const a = PULUMI_LAKEHOUSE_DEFAULTS.azure;
  rows.push('');
  rows.push(
    `Azure: blob soft delete ${a.softDeleteRetentionDays} d, filesystem soft delete ` +
      `${a.containerSoftDeleteRetentionDays} d, \`${a.storageSku}\`, firewall \`${a.networkDefaultAction}\`. ` +
      `GCS: soft delete ${PULUMI_LAKEHOUSE_DEFAULTS.gcp.softDeleteRetentionDays} d, location ` +
      `\`${PULUMI_LAKEHOUSE_DEFAULTS.gcp.location}\`. Name prefix \`${PULUMI_LAKEHOUSE_DEFAULTS.namePrefix}\`.`,
  );
  return rows.join('\n');
}

/**
 * A zone's lifecycle: the overrides merged field by field over the zone's defaults. Throws
 * `INVALID_ARGUMENT` for a negative or fractional day count, and for `expirationDays` outside
 * `scratch` (it would delete live tables).
 */
export function resolveLifecycle(
  zone: LakehouseZone,
  override: ZoneLifecycle | undefined,
): ResolvedZoneLifecycle {
  const d = PULUMI_LAKEHOUSE_DEFAULTS.lifecycle[zone];
  const l: ResolvedZoneLifecycle = {
    coolAfterDays: override?.coolAfterDays ?? d.coolAfterDays,
    coldAfterDays: override?.coldAfterDays ?? d.coldAfterDays,
    noncurrentVersionExpirationDays:
      override?.noncurrentVersionExpirationDays ?? d.noncurrentVersionExpirationDays,
    expirationDays: override?.expirationDays ?? d.expirationDays,
    abortIncompleteMultipartUploadDays:
      override?.abortIncompleteMultipartUploadDays ?? d.abortIncompleteMultipartUploadDays,
  };
  for (const [field, value] of Object.entries(l) as [keyof ResolvedZoneLifecycle, number | false][]) {
    if (value !== false && (!Number.isInteger(value) || value < 0)) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `lifecycle.${zone}.${field} is ${String(value)}: use a whole number of days (0 or more), or false to turn the rule off`,
      );
    }
  }
  if (l.expirationDays !== false && zone !== 'scratch') {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `lifecycle.${zone}.expirationDays is ${l.expirationDays}: only the scratch zone may expire objects ` +
        `(elsewhere it would delete files and _delta_log/ entries of live tables); set it to false`,
    );
  }
  if (l.coolAfterDays !== false && l.coldAfterDays !== false && l.coldAfterDays <= l.coolAfterDays) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `lifecycle.${zone}: coldAfterDays (${l.coldAfterDays}) must be more than coolAfterDays (${l.coolAfterDays})`,
    );
  }
  return l;
}
