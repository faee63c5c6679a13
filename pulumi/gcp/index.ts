/** The GCP components: GCS zones, service accounts, BigQuery/BigLake catalog. Import only what you use. */
export { LakehouseStorage, type LakehouseStorageArgs } from './storage.js';
export {
  LakehouseAccess,
  type LakehouseAccessArgs,
  type GcpLakehouseIdentity,
  type GcpOperatorIdentityOptions,
  GCS_READ_ROLE,
  GCS_WRITE_ROLE,
} from './access.js';
export {
  LakehouseCatalog,
  type LakehouseCatalogArgs,
  type SkippedTable,
  bigLakeDeltaLimitation,
} from './catalog.js';
export { bucketLifecycleRules, type BucketLifecycleRule } from './lifecycle.js';
export {
  ACCESS_DEFAULTS,
  LAKEHOUSE_ROLES,
  type LakehouseRole,
  type LakehouseRoleOptions,
  type OperatorIdentityOptions,
} from '../access-defaults.js';
