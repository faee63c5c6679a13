import { Annotations, CfnResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { LakehouseError } from '../../lib/errors.js';
import { acknowledgeNag, skipCheckov } from '../compliance.js';
import {
  LAKEHOUSE_DEFAULTS,
  LAKEHOUSE_ZONES,
  type LakehouseZone,
  type ResolvedZoneLifecycle,
  type ZoneLifecycle,
} from '../defaults.js';
import { bucketName } from '../naming.js';
import { dataFilePrefixes, requireZone, zoneTables, type ZoneTable } from '../tables.js';
import { resolveRemovalPolicy } from '../removal-policy.js';
import type { LakehouseStorageProps } from './lakehouse-storage-props.js';

/**
 * The storage zones of a lakehouse: one S3 bucket per zone (raw, curated, models, scratch), each
 * encrypted with its own rotating KMS key (S3 Bucket Keys on), versioned, TLS-only, with Block
 * Public Access, bucket-owner-enforced ownership, server access logs to a separate log bucket and
 * a Delta-safe lifecycle: storage-class transitions only to Intelligent-Tiering or Glacier
 * Instant Retrieval (millisecond reads, so every file a live table version reads stays readable)
 * and only under the data-file prefixes of the given LakeTables (never `_delta_log/`), noncurrent
 * versions expire, unfinished multipart uploads are aborted, and only `scratch` expires current
 * objects.
 *
 * Buckets and keys are retained on `cdk destroy` unless both `removalPolicy: DESTROY` and the
 * context flag `lakehouse:removeDataOnDestroy=true` are set.
 *
 * @example
 * const storage = new LakehouseStorage(stack, 'Storage', {
 *   namePrefix: 'lakehouse-dev',
 *   lifecycle: { raw: { intelligentTieringAfterDays: 0 }, scratch: { expirationDays: 3 } },
 * });
 * storage.bucket('curated').bucketName;
 */
export class LakehouseStorage extends Construct {
  /** The zones this construct created, in {@link LAKEHOUSE_ZONES} order. */
  readonly zones: readonly LakehouseZone[];
  /** The prefix of every name. */
  readonly namePrefix: string;
  /** The removal policy applied to buckets and keys after the two-key guard. */
  readonly removalPolicy: RemovalPolicy;
  /** The bucket receiving server access logs (imported when `accessLogs.bucketName` was given). */
  readonly accessLogsBucket: s3.IBucket;
  /** The resolved lifecycle of each created zone. */
  readonly lifecycle: Readonly<Partial<Record<LakehouseZone, ResolvedZoneLifecycle>>>;

  private readonly buckets = new Map<LakehouseZone, s3.Bucket>();
  private readonly keys = new Map<LakehouseZone, kms.Key>();

  constructor(scope: Construct, id: string, props: LakehouseStorageProps = {}) {
    super(scope, id);
    this.namePrefix = props.namePrefix ?? LAKEHOUSE_DEFAULTS.namePrefix;
    this.zones = orderedZones(props.zones ?? LAKEHOUSE_DEFAULTS.zones);
    this.removalPolicy = resolveRemovalPolicy(this, props.removalPolicy);
    const destroy = this.removalPolicy === RemovalPolicy.DESTROY;
    const tiered = zoneTables(props.tables ?? [], props.storageName);
    for (const t of tiered) requireZone(t, this.zones);

    const logsPrefix = props.accessLogs?.prefix ?? '';
    const createdLogsBucket =
      props.accessLogs?.bucketName === undefined
        ? this.createAccessLogsBucket(
            props.accessLogs?.expirationDays ?? LAKEHOUSE_DEFAULTS.accessLogsExpirationDays,
            destroy,
          )
        : undefined;
    this.accessLogsBucket =
      createdLogsBucket ?? s3.Bucket.fromBucketName(this, 'AccessLogsBucket', props.accessLogs!.bucketName!);
    // The zone buckets get the log bucket as a reference, so CDK does not switch it to the legacy
    // LogDeliveryWrite ACL (which bucket-owner-enforced ownership forbids); the delivery grant is
    // a bucket policy statement per zone, added below, whatever the app's feature flags.
    const logsTarget = createdLogsBucket
      ? s3.Bucket.fromBucketAttributes(this, 'AccessLogsTarget', {
          bucketArn: createdLogsBucket.bucketArn,
          bucketName: createdLogsBucket.bucketName,
        })
      : this.accessLogsBucket;

    const lifecycle: Partial<Record<LakehouseZone, ResolvedZoneLifecycle>> = {};
    for (const zone of this.zones) {
      const resolved = resolveLifecycle(zone, props.lifecycle?.[zone]);
      lifecycle[zone] = resolved;
      const key = new kms.Key(this, `${title(zone)}Key`, {
        description: `Encrypts the ${zone} zone of ${this.namePrefix}`,
        alias: `alias/${this.namePrefix}-${zone}`,
        enableKeyRotation: true,
        removalPolicy: this.removalPolicy,
        pendingWindow: Duration.days(LAKEHOUSE_DEFAULTS.kmsPendingWindowDays),
      });
      const rules = lifecycleRules(
        zone,
        resolved,
        tiered.filter((t) => t.zone === zone),
      );
      const bucket = new s3.Bucket(this, `${title(zone)}Bucket`, {
        bucketName: bucketName(this, this.namePrefix, zone),
        encryption: s3.BucketEncryption.KMS,
        encryptionKey: key,
        bucketKeyEnabled: true,
        versioned: true,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        enforceSSL: true,
        minimumTLSVersion: 1.2,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        serverAccessLogsBucket: logsTarget,
        serverAccessLogsPrefix: `${logsPrefix}${zone}/`,
        targetObjectKeyFormat: s3.TargetObjectKeyFormat.partitionedPrefix(s3.PartitionDateSource.EVENT_TIME),
        lifecycleRules: rules,
        removalPolicy: this.removalPolicy,
        autoDeleteObjects: destroy,
      });
      Annotations.of(bucket).acknowledgeWarning(
        '@aws-cdk/aws-s3:accessLogsPolicyNotAdded',
        createdLogsBucket
          ? 'The log bucket of this construct grants delivery by a policy statement per zone.'
          : 'The owner of the given log bucket grants delivery (see AccessLogsOptions.bucketName).',
      );
      createdLogsBucket?.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `AllowAccessLogDelivery${title(zone)}`,
          principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
          actions: ['s3:PutObject'],
          resources: [createdLogsBucket.arnForObjects(`${logsPrefix}${zone}/*`)],
          conditions: {
            ArnLike: { 'aws:SourceArn': bucket.bucketArn },
            StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
          },
        }),
      );
      this.keys.set(zone, key);
      this.buckets.set(zone, bucket);
    }
    this.lifecycle = lifecycle;
    if (destroy) exemptAutoDeleteProvider(this);
  }

  /** The bucket of a zone; throws if the zone was not created. */
  bucket(zone: LakehouseZone): s3.Bucket {
    return this.mustGet(this.buckets, zone);
  }

  /** The KMS key of a zone; throws if the zone was not created. */
  key(zone: LakehouseZone): kms.Key {
    return this.mustGet(this.keys, zone);
  }

  /** Whether this construct created the zone. */
  hasZone(zone: LakehouseZone): boolean {
    return this.buckets.has(zone);
  }

  /** `s3://<bucket>/` of a zone, optionally followed by a path inside it. */
  zoneUri(zone: LakehouseZone, path = ''): string {
    return `s3://${this.bucket(zone).bucketName}/${path.replace(/^\/+/, '')}`;
  }

  private mustGet<T>(map: Map<LakehouseZone, T>, zone: LakehouseZone): T {
    const value = map.get(zone);
    if (value === undefined) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `zone "${zone}" is not part of ${this.node.path} (zones: ${this.zones.join(', ')}); add it to "zones"`,
      );
    }
    return value;
  }

  private createAccessLogsBucket(expirationDays: number, destroy: boolean): s3.Bucket {
    checkInteger('accessLogs.expirationDays', expirationDays, 1, false);
    const bucket = new s3.Bucket(this, 'AccessLogsBucket', {
      bucketName: bucketName(this, this.namePrefix, 'access-logs'),
      // S3 server access log delivery writes only to SSE-S3 buckets.
      encryption: s3.BucketEncryption.S3_MANAGED,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        { id: 'expire-access-logs', expiration: Duration.days(expirationDays) },
        { id: 'expire-noncurrent-versions', noncurrentVersionExpiration: Duration.days(1) },
        { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: this.removalPolicy,
      autoDeleteObjects: destroy,
    });
    acknowledgeNag(
      bucket,
      'AwsSolutions-S1',
      'This is the server access log bucket itself; logging it into itself would loop, and another ' +
        'log bucket would only move the question.',
    );
    skipCheckov(bucket, 'CKV_AWS_18', 'This is the access log target bucket; it does not log itself.');
    return bucket;
  }
}

/** The zones in canonical order, duplicates and unknown names rejected. */
function orderedZones(zones: readonly LakehouseZone[]): LakehouseZone[] {
  for (const zone of zones) {
    if (!(LAKEHOUSE_ZONES as readonly string[]).includes(zone)) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `unknown zone "${zone}": zones are ${LAKEHOUSE_ZONES.join(', ')}`,
      );
    }
  }
  if (new Set(zones).size !== zones.length) {
    throw new LakehouseError('INVALID_ARGUMENT', `zones list "${zones.join(', ')}" names a zone twice`);
  }
  if (zones.length === 0)
    throw new LakehouseError('INVALID_ARGUMENT', 'zones is empty: list at least one zone');
  return LAKEHOUSE_ZONES.filter((zone) => zones.includes(zone));
}

/** A zone's lifecycle: the user's fields over the defaults, checked against S3's limits and Delta safety. */
export function resolveLifecycle(
  zone: LakehouseZone,
  overrides: ZoneLifecycle | undefined,
): ResolvedZoneLifecycle {
  const defaults: ResolvedZoneLifecycle = LAKEHOUSE_DEFAULTS.lifecycle[zone];
  const l: ResolvedZoneLifecycle = {
    intelligentTieringAfterDays:
      overrides?.intelligentTieringAfterDays ?? defaults.intelligentTieringAfterDays,
    glacierInstantRetrievalAfterDays:
      overrides?.glacierInstantRetrievalAfterDays ?? defaults.glacierInstantRetrievalAfterDays,
    noncurrentVersionExpirationDays:
      overrides?.noncurrentVersionExpirationDays ?? defaults.noncurrentVersionExpirationDays,
    expirationDays: overrides?.expirationDays ?? defaults.expirationDays,
    abortIncompleteMultipartUploadDays:
      overrides?.abortIncompleteMultipartUploadDays ?? defaults.abortIncompleteMultipartUploadDays,
  };
  const where = `lifecycle.${zone}`;
  // S3 accepts 0 days for transitions only; expirations and aborts start at 1 day.
  if (l.intelligentTieringAfterDays !== false)
    checkInteger(`${where}.intelligentTieringAfterDays`, l.intelligentTieringAfterDays, 0);
  if (l.glacierInstantRetrievalAfterDays !== false)
    checkInteger(`${where}.glacierInstantRetrievalAfterDays`, l.glacierInstantRetrievalAfterDays, 0);
  if (l.noncurrentVersionExpirationDays !== false)
    checkInteger(`${where}.noncurrentVersionExpirationDays`, l.noncurrentVersionExpirationDays, 1);
  if (l.expirationDays !== false) checkInteger(`${where}.expirationDays`, l.expirationDays, 1);
  checkInteger(`${where}.abortIncompleteMultipartUploadDays`, l.abortIncompleteMultipartUploadDays, 1, false);
  if (l.expirationDays !== false && zone !== 'scratch') {
    throw new LakehouseError(
      'UNSAFE_OPERATION',
      `${where}.expirationDays would delete current objects of live Delta tables (data files and ` +
        `_delta_log/ entries); only the scratch zone may expire objects. Use false here.`,
    );
  }
  if (
    l.intelligentTieringAfterDays !== false &&
    l.glacierInstantRetrievalAfterDays !== false &&
    l.glacierInstantRetrievalAfterDays <= l.intelligentTieringAfterDays
  ) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `${where}: glacierInstantRetrievalAfterDays (${l.glacierInstantRetrievalAfterDays}) must be later ` +
        `than intelligentTieringAfterDays (${l.intelligentTieringAfterDays}), or one of them false`,
    );
  }
  return l;
}

/** S3 allows 1000 lifecycle rules per bucket; a few are the zone's own. */
const MAX_TABLE_RULES = 990;

function lifecycleRules(
  zone: LakehouseZone,
  l: ResolvedZoneLifecycle,
  tables: ZoneTable[],
): s3.LifecycleRule[] {
  const rules: s3.LifecycleRule[] = [
    {
      id: 'abort-incomplete-multipart-uploads',
      abortIncompleteMultipartUploadAfter: Duration.days(l.abortIncompleteMultipartUploadDays),
    },
  ];
  if (l.noncurrentVersionExpirationDays !== false) {
    rules.push({
      id: 'expire-noncurrent-versions',
      noncurrentVersionExpiration: Duration.days(l.noncurrentVersionExpirationDays),
      expiredObjectDeleteMarker: true,
    });
  }
  const transitions: s3.Transition[] = [];
  if (l.intelligentTieringAfterDays !== false) {
    transitions.push({
      storageClass: s3.StorageClass.INTELLIGENT_TIERING,
      transitionAfter: Duration.days(l.intelligentTieringAfterDays),
    });
  }
  if (l.glacierInstantRetrievalAfterDays !== false) {
    transitions.push({
      storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
      transitionAfter: Duration.days(l.glacierInstantRetrievalAfterDays),
    });
  }
  if (transitions.length > 0) {
    // One rule per data-file prefix: S3 filters cannot exclude `_delta_log/`, prefixes can avoid it.
    const prefixes = tables.flatMap((t) => dataFilePrefixes(t).map((prefix) => ({ t, prefix })));
    if (prefixes.length > MAX_TABLE_RULES) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `zone ${zone} has ${prefixes.length} table data prefixes to tier, more than the ${MAX_TABLE_RULES} ` +
          `lifecycle rules S3 allows; turn tiering off for this zone or split the tables across zones`,
      );
    }
    for (const { t, prefix } of prefixes) {
      rules.push({ id: `tier-${t.table.metadata.name}`.slice(0, 255), prefix, transitions });
    }
  }
  if (l.expirationDays !== false) {
    rules.push({ id: 'expire-scratch-objects', expiration: Duration.days(l.expirationDays) });
  }
  return rules;
}

function checkInteger(name: string, value: number, minimum: number, canBeOff = true): void {
  if (!Number.isInteger(value) || value < minimum) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `${name} is ${value}: it must be a whole number >= ${minimum}` +
        (minimum === 1 ? ' (S3 rejects 0 days here)' : '') +
        (canBeOff ? ', or false to turn the rule off' : ''),
    );
  }
}

function title(zone: string): string {
  return zone.charAt(0).toUpperCase() + zone.slice(1);
}

/**
 * With data removal on, `autoDeleteObjects` adds CDK's bucket-emptying Lambda (one per stack).
 * It runs only on `cdk destroy`, so the checks meant for long-running functions are exempted, on
 * the function, with the reasons.
 */
function exemptAutoDeleteProvider(scope: Construct): void {
  const provider = Stack.of(scope).node.tryFindChild('Custom::S3AutoDeleteObjectsCustomResourceProvider');
  const handler = provider?.node.tryFindChild('Handler');
  if (!(handler instanceof CfnResource)) {
    throw new Error(
      'internal: autoDeleteObjects did not create the Custom::S3AutoDeleteObjects provider handler',
    );
  }
  if (handler.getMetadata('checkov') !== undefined) return;
  const why = "CDK's bucket-emptying function runs only during cdk destroy, with data removal on";
  skipCheckov(handler, 'CKV_AWS_115', `${why}: no concurrency reservation is needed.`);
  skipCheckov(
    handler,
    'CKV_AWS_116',
    `${why}: CloudFormation reports a failure, a dead-letter queue adds nothing.`,
  );
  skipCheckov(handler, 'CKV_AWS_117', `${why}: it calls only the S3 API and needs no VPC.`);
  // CDK both references the role with GetAtt and lists it in DependsOn; the duplicate is harmless.
  handler.addMetadata('cfn-lint', { config: { ignore_checks: ['W3005'] } });
}
