/**
 * The LakeTable definition: one schema (schema.ts) for the TypeScript types, runtime validation,
 * the CRD (crd.ts) and the docs. Users keep LakeTable documents in Git; the operator reconciles
 * them in Kubernetes; CDK and Pulumi register them in each cloud's catalog.
 */
export {
  LAKETABLE_API_VERSION,
  LAKETABLE_DEFAULTS,
  LAKETABLE_GROUP,
  LAKETABLE_KIND,
  LAKETABLE_PLURAL,
  LAKETABLE_SHORT_NAME,
  LAKETABLE_VERSION,
  MIN_SAFE_RETENTION_HOURS,
  ZONES,
  PERSISTENCE,
  SCHEMA_EVOLUTION,
  DELETION_POLICIES,
  APPROVAL_MODES,
  APPROVE_PLAN_ANNOTATION,
  defaultMinFileSizeBytes,
  renderDefaultsMarkdown,
  type Zone,
  type Persistence,
  type SchemaEvolution,
  type DeletionPolicy,
  type ApprovalMode,
} from './defaults.js';
export {
  LakeTableSchema,
  SpecSchema,
  StatusSchema,
  ColumnSchema,
  ConditionSchema,
  MaintenanceRunSchema,
  CROSS_FIELD_RULES,
  KNOWN_PROPERTIES,
  type LakeTable,
  type LakeTableSpec,
  type LakeTableColumn,
  type LakeTableStatus,
  type LakeTableCondition,
  type MaintenanceRun,
  type PlanStatus,
  type HealthStatus,
  type CrossFieldRule,
} from './schema.js';
export {
  parseLakeTable,
  validateLakeTable,
  formatIssue,
  LakeTableSpecError,
  type SpecIssue,
  type ValidationResult,
} from './parse.js';
export {
  loadLakeTables,
  readLakeTableDocuments,
  listSpecFiles,
  DefinitionRegistry,
  SPEC_FILE_EXTENSIONS,
  type LoadedDocument,
} from './load.js';
export { lakeTableCrd, lakeTableOpenApiSchema, renderCrdYaml, CRD_PATH } from './crd.js';
export {
  tableLocation,
  localStorageRoots,
  catalogNames,
  resolvedColumns,
  deltaSchema,
  resolveSettings,
  type StorageRoots,
  type CatalogNames,
  type ResolvedColumn,
  type ResolvedSettings,
} from './resolve.js';
export {
  parseDeltaType,
  formatDeltaType,
  deltaTypeToJson,
  deltaTypeToHiveType,
  deltaTypeToBigQueryType,
  isPartitionableType,
  DELTA_PRIMITIVE_TYPES,
  type DeltaType,
  type DeltaPrimitiveType,
  type DeltaStructField,
  type DeltaSchemaField,
  type DeltaSchemaType,
} from './delta-type.js';
export {
  parseDuration,
  parseDeltaInterval,
  parseSize,
  formatSize,
  deltaIntervalDays,
  isValidTimeZone,
} from './formats.js';
export {
  parseCron,
  cronError,
  nextCronTime,
  isWindowOpen,
  nextWindowStart,
  type CronSchedule,
  type MaintenanceWindow,
} from './cron.js';
