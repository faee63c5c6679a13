/**
 * The AWS constructs of lakehouse-kit: {@link LakehouseStorage} (zone buckets and keys),
 * {@link LakehouseCatalog} (Glue databases and Delta tables from LakeTable documents) and
 * {@link LakehouseAccess} (least-privilege roles, IRSA / Pod Identity for the operator).
 */
export { LakehouseStorage } from './storage/lakehouse-storage.js';
export type { LakehouseStorageProps, AccessLogsOptions } from './storage/lakehouse-storage-props.js';
export {
  LakehouseCatalog,
  DELTA_TABLE_PARAMETERS,
  GLUE_ACTIONS,
  LAKE_FORMATION_TABLE_PERMISSIONS,
  type RegisteredTable,
} from './catalog/lakehouse-catalog.js';
export type { LakehouseCatalogProps, LakeFormationOptions } from './catalog/lakehouse-catalog-props.js';
export {
  LakehouseAccess,
  OBJECT_ACTIONS,
  BUCKET_ACTIONS,
  KMS_ACTIONS,
  grantZone,
  type AccessLevel,
} from './access/lakehouse-access.js';
export type {
  LakehouseAccessProps,
  LakehouseRoleOptions,
  ZoneGrant,
  IrsaOptions,
  PodIdentityOptions,
  OperatorIdentityOptions,
} from './access/lakehouse-access-props.js';
export {
  LAKEHOUSE_DEFAULTS,
  LAKEHOUSE_ZONES,
  defaultsMarkdownTable,
  type LakehouseZone,
  type ZoneLifecycle,
  type ResolvedZoneLifecycle,
} from './defaults.js';
export {
  resolveRemovalPolicy,
  removeDataOnDestroy,
  REMOVE_DATA_ON_DESTROY_CONTEXT,
} from './removal-policy.js';
export { bucketName, glueDatabaseName, checkNamePrefix, MAX_BUCKET_NAME_LENGTH } from './naming.js';
export { acknowledgeNag, skipCheckov, type CheckovSkip } from './compliance.js';
export { zoneTables, dataFilePrefixes, type ZoneTable } from './tables.js';
export { LakehouseStack, type LakehouseStackProps } from './app/lakehouse-stack.js';
export { buildLakehouseApp } from './app/build.js';
export {
  readAppConfig,
  parseAppConfig,
  AppConfigSchema,
  APP_DEFAULTS,
  type AppConfig,
} from './app/config.js';
