/**
 * Every default of the CDK constructs, in one place. The constructs read their defaults from
 * here (with `??`, so an explicit `0` or `false` is kept), the `@default` sentences of the props
 * point here, and the README's defaults table is rendered from here by
 * {@link defaultsMarkdownTable} — a test checks that the README still shows what the code does.
 */

import { ZONES, type Zone } from '../lib/spec/index.js';

/** The storage zones, in the order they are created: the LakeTable spec's `ZONES`. */
export const LAKEHOUSE_ZONES: readonly Zone[] = ZONES;

/** One storage zone: a bucket, its KMS key and a Glue database. */
export type LakehouseZone = Zone;

/**
 * The lifecycle of one zone's bucket. Every day count may be `0` where S3 accepts it; `false`
 * turns the rule off. Only millisecond-access storage classes are offered, so a file that a live
 * Delta table version still reads is never archived (see the README, "Delta-safe lifecycle").
 */
export interface ZoneLifecycle {
  /**
   * Days after creation when a table data file moves to S3 Intelligent-Tiering (its archive tiers are never enabled); `0` moves it at once.
   * `false`: never.
   */
  readonly intelligentTieringAfterDays?: number | false;
  /**
   * Days after creation when a table data file moves to S3 Glacier Instant Retrieval (millisecond reads, but a per-GB retrieval fee and a 90-day
   * minimum). `false`: never.
   */
  readonly glacierInstantRetrievalAfterDays?: number | false;
  /**
   * Days an object version is kept after it became noncurrent (VACUUM and log clean-up leave
   * noncurrent versions behind; no live table version reads them). S3's minimum is 1.
   * `false`: keep them forever.
   */
  readonly noncurrentVersionExpirationDays?: number | false;
  /**
   * Days after creation when current objects are deleted. Allowed only in the `scratch` zone:
   * anywhere else it would delete files (and `_delta_log/` entries) of live tables.
   * `false`: never.
   */
  readonly expirationDays?: number | false;
  /** Days after which an unfinished multipart upload is aborted and its parts deleted (S3 minimum 1). */
  readonly abortIncompleteMultipartUploadDays?: number;
}

/** A zone lifecycle with every field decided. */
export type ResolvedZoneLifecycle = Required<ZoneLifecycle>;

export const LAKEHOUSE_DEFAULTS = {
  /** Prefix of every bucket, key and database name; the app adds the environment name. */
  namePrefix: 'lakehouse',
  /** Zones created when none are listed. */
  zones: LAKEHOUSE_ZONES as readonly LakehouseZone[],
  /** Per-zone lifecycle. */
  lifecycle: {
    raw: {
      intelligentTieringAfterDays: 0,
      glacierInstantRetrievalAfterDays: false,
      noncurrentVersionExpirationDays: 30,
      expirationDays: false,
      abortIncompleteMultipartUploadDays: 7,
    },
    curated: {
      intelligentTieringAfterDays: 0,
      glacierInstantRetrievalAfterDays: false,
      noncurrentVersionExpirationDays: 30,
      expirationDays: false,
      abortIncompleteMultipartUploadDays: 7,
    },
    models: {
      intelligentTieringAfterDays: 30,
      glacierInstantRetrievalAfterDays: false,
      noncurrentVersionExpirationDays: 90,
      expirationDays: false,
      abortIncompleteMultipartUploadDays: 7,
    },
    scratch: {
      intelligentTieringAfterDays: false,
      glacierInstantRetrievalAfterDays: false,
      noncurrentVersionExpirationDays: 1,
      expirationDays: 7,
      abortIncompleteMultipartUploadDays: 1,
    },
  } satisfies Record<LakehouseZone, ResolvedZoneLifecycle>,
  /** Roles of LakehouseAccess: the zones each reaches when none are listed. */
  access: {
    reader: { zones: ['curated', 'models'] as readonly LakehouseZone[] },
    writer: { zones: ['raw', 'curated'] as readonly LakehouseZone[] },
    operator: { zones: LAKEHOUSE_ZONES as readonly LakehouseZone[] },
    /** Kubernetes namespace of the operator (IRSA / Pod Identity subject). */
    operatorNamespace: 'lakehouse',
    /** Kubernetes service account of the operator. */
    operatorServiceAccount: 'lakehouse-operator',
  },
  /** Days the server access logs are kept in the log bucket the construct creates. */
  accessLogsExpirationDays: 365,
  /** Days a scheduled KMS key deletion waits when the stack is destroyed with data removal on. */
  kmsPendingWindowDays: 7,
} as const;

/** The README table of defaults, rendered from {@link LAKEHOUSE_DEFAULTS}. */
export function defaultsMarkdownTable(): string {
  const show = (v: number | false): string => (v === false ? 'never' : `${v} d`);
  const rows = [
    '| zone | Intelligent-Tiering | Glacier Instant Retrieval | noncurrent versions expire | current objects expire | abort multipart uploads |',
    '|---|---|---|---|---|---|',
  ];
  for (const zone of LAKEHOUSE_ZONES) {
    const l: ResolvedZoneLifecycle = LAKEHOUSE_DEFAULTS.lifecycle[zone];
    rows.push(
      `| ${zone} | ${show(l.intelligentTieringAfterDays)} | ${show(l.glacierInstantRetrievalAfterDays)} | ` +
        `${show(l.noncurrentVersionExpirationDays)} | ${show(l.expirationDays)} | ` +
        `${show(l.abortIncompleteMultipartUploadDays)} |`,
    );
  }
  const a = LAKEHOUSE_DEFAULTS.access;
  rows.push('');
  rows.push(
    `Transitions apply to the data-file prefixes of the LakeTables only; access logs are kept ` +
      `${LAKEHOUSE_DEFAULTS.accessLogsExpirationDays} days; name prefix \`${LAKEHOUSE_DEFAULTS.namePrefix}\`. ` +
      `Role zones: reader ${a.reader.zones.join(', ')}; writer ${a.writer.zones.join(', ')}; ` +
      `operator ${a.operator.zones.join(', ')}. The operator's service account: ` +
      `\`${a.operatorNamespace}/${a.operatorServiceAccount}\`.`,
  );
  return rows.join('\n');
}
