import type { RemovalPolicy } from 'aws-cdk-lib';
import type { LakeTable } from '../../lib/spec/index.js';
import type { LakehouseZone, ZoneLifecycle } from '../defaults.js';

/** Where the zone buckets deliver their S3 server access logs. */
export interface AccessLogsOptions {
  /**
   * An existing bucket to deliver the logs to, in this account or another one (a central
   * logging account). Its bucket policy must let `logging.s3.amazonaws.com` put objects under
   * `prefix`, with `aws:SourceAccount` set to this account; it must use SSE-S3 (log delivery
   * cannot write to SSE-KMS buckets).
   * @default - a log bucket `<namePrefix>-access-logs-<account>-<region>` is created in this stack
   */
  readonly bucketName?: string;
  /**
   * Key prefix of the logs; each zone writes under `<prefix><zone>/`.
   * @default '' (logs of zone `raw` go under `raw/`)
   */
  readonly prefix?: string;
  /**
   * Days the created log bucket keeps logs (ignored with `bucketName`).
   * @default LAKEHOUSE_DEFAULTS.accessLogsExpirationDays
   */
  readonly expirationDays?: number;
}

/** Options of {@link LakehouseStorage}. */
export interface LakehouseStorageProps {
  /**
   * Prefix of every bucket name and key alias: lowercase letters, digits and hyphens. Include
   * the environment (`lakehouse-prod`) when one account holds several environments.
   * @default LAKEHOUSE_DEFAULTS.namePrefix
   */
  readonly namePrefix?: string;
  /**
   * The zones to create, each a bucket with its own KMS key.
   * @default LAKEHOUSE_DEFAULTS.zones (raw, curated, models, scratch)
   */
  readonly zones?: readonly LakehouseZone[];
  /**
   * Lifecycle per zone, merged field by field over the zone's defaults: set only what differs.
   * `0` days is kept as `0`; `false` turns a rule off.
   * @default LAKEHOUSE_DEFAULTS.lifecycle
   */
  readonly lifecycle?: Partial<Record<LakehouseZone, ZoneLifecycle>>;
  /**
   * The LakeTable documents of this lake. Storage-class transitions apply only to their data-file
   * prefixes (`<path>/<first partition column>=` or `<path>/part-`), which never match
   * `_delta_log/`; objects outside every table keep their storage class.
   * @default [] (no transitions)
   */
  readonly tables?: readonly LakeTable[];
  /**
   * The LakeTable storage name these buckets are (`spec.storage` of the tables).
   * @default LAKETABLE_DEFAULTS.storage ("default")
   */
  readonly storageName?: string;
  /**
   * Where S3 server access logs go.
   * @default - a log bucket in this stack, see {@link AccessLogsOptions}
   */
  readonly accessLogs?: AccessLogsOptions;
  /**
   * `DESTROY` deletes buckets (with their objects) and schedules key deletion on
   * `cdk destroy`, but ONLY if the context flag `lakehouse:removeDataOnDestroy` is `true` too.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}
