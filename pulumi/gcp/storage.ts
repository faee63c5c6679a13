import * as pulumi from '@pulumi/pulumi';
import * as storage from '@pulumi/gcp/storage/index.js';
import * as kms from '@pulumi/gcp/kms/index.js';
import {
  PULUMI_LAKEHOUSE_DEFAULTS,
  resolveLifecycle,
  type LakehouseZone,
  type ResolvedZoneLifecycle,
  type ZoneLifecycle,
} from '../defaults.js';
import { bucketName } from '../naming.js';
import { dataResourceOptions, resolveRemoval, type RemovalPolicy } from '../removal.js';
import type { CatalogTable } from '../tables.js';
import { bucketLifecycleRules } from './lifecycle.js';

/** Options of {@link LakehouseStorage} on GCP. */
export interface LakehouseStorageArgs {
  /** The project id (bucket names end with it, so they are globally unique). */
  readonly project: string;
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.gcp.location */
  readonly location?: string;
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.namePrefix */
  readonly namePrefix?: string;
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.zones: one bucket per zone */
  readonly zones?: readonly LakehouseZone[];
  /** Per zone, merged field by field over the defaults. @default PULUMI_LAKEHOUSE_DEFAULTS.lifecycle */
  readonly lifecycle?: Partial<Record<LakehouseZone, ZoneLifecycle>>;
  /** The registered tables: their data-file prefixes are what lifecycle rules may move. @default [] */
  readonly tables?: readonly CatalogTable[];
  /**
   * A Cloud KMS key (`projects/…/locations/…/keyRings/…/cryptoKeys/…`, in the buckets' location)
   * for default encryption; the project's Cloud Storage service agent is granted use of it.
   * @default - Google-managed keys
   */
  readonly kmsKeyName?: string;
  /** A bucket receiving usage logs (`<zone>/` prefixes). @default - none */
  readonly accessLogBucket?: string;
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.gcp.softDeleteRetentionDays */
  readonly softDeleteRetentionDays?: number;
  /**
   * `'destroy'` lets `pulumi destroy` delete the buckets with their objects, but ONLY when the
   * stack config `lakehouse:removeDataOnDestroy` is `true` too.
   * @default 'retain'
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * GCS storage for the lakehouse: one bucket per zone. Always on: uniform bucket-level access
 * (no object ACLs), public access prevention enforced, versioning, soft delete, Delta-safe
 * lifecycle rules. Optional CMEK. Buckets keep their data on destroy unless both removal keys
 * say otherwise ({@link resolveRemoval}); only then is `forceDestroy` set.
 */
export class LakehouseStorage extends pulumi.ComponentResource {
  readonly buckets: ReadonlyMap<LakehouseZone, storage.Bucket>;
  /** `gs://<bucket>/` per zone: the table roots for the LakeTable `storage`. */
  readonly zoneUris: ReadonlyMap<LakehouseZone, pulumi.Output<string>>;
  readonly lifecycles: ReadonlyMap<LakehouseZone, ResolvedZoneLifecycle>;
  readonly location: string;

  constructor(name: string, args: LakehouseStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super('lakehouse:gcp:LakehouseStorage', name, {}, opts);
    const d = PULUMI_LAKEHOUSE_DEFAULTS;
    const namePrefix = args.namePrefix ?? d.namePrefix;
    const zones = args.zones ?? d.zones;
    this.location = args.location ?? d.gcp.location;
    const removal = resolveRemoval(args.removalPolicy, this);
    const child: pulumi.CustomResourceOptions = { parent: this };
    this.lifecycles = new Map(zones.map((z) => [z, resolveLifecycle(z, args.lifecycle?.[z])]));

    const dependsOn: pulumi.Resource[] = [];
    if (args.kmsKeyName !== undefined) {
      const agent = storage.getProjectServiceAccountOutput({ project: args.project }, { parent: this });
      dependsOn.push(
        new kms.CryptoKeyIAMMember(
          `${name}-gcs-agent-key-user`,
          {
            cryptoKeyId: args.kmsKeyName,
            role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter',
            member: pulumi.interpolate`serviceAccount:${agent.emailAddress}`,
          },
          child,
        ),
      );
    }

    const buckets = new Map<LakehouseZone, storage.Bucket>();
    const zoneUris = new Map<LakehouseZone, pulumi.Output<string>>();
    for (const zone of zones) {
      const bucket = new storage.Bucket(
        `${name}-${zone}`,
        {
          name: bucketName(namePrefix, zone, args.project),
          project: args.project,
          location: this.location,
          storageClass: 'STANDARD',
          uniformBucketLevelAccess: true,
          publicAccessPrevention: 'enforced',
          versioning: { enabled: true },
          softDeletePolicy: {
            retentionDurationSeconds: (args.softDeleteRetentionDays ?? d.gcp.softDeleteRetentionDays) * 86400,
          },
          lifecycleRules: bucketLifecycleRules(zone, this.lifecycles.get(zone)!, args.tables ?? []),
          forceDestroy: removal.destroyAllowed,
          labels: { lakehouse_zone: zone },
          ...(args.kmsKeyName !== undefined && { encryption: { defaultKmsKeyName: args.kmsKeyName } }),
          ...(args.accessLogBucket !== undefined && {
            logging: { logBucket: args.accessLogBucket, logObjectPrefix: `${zone}/` },
          }),
        },
        dataResourceOptions(removal, { ...child, dependsOn }),
      );
      buckets.set(zone, bucket);
      zoneUris.set(zone, pulumi.interpolate`gs://${bucket.name}/`);
    }
    this.buckets = buckets;
    this.zoneUris = zoneUris;
    this.registerOutputs({});
  }
}
