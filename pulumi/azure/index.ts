/** The Azure components: ADLS Gen2 zones, identities, catalog. Import only what you use. */
export {
  LakehouseStorage,
  type LakehouseStorageArgs,
  type AzureCustomerManagedKey,
  type AzureStorageNetwork,
} from './storage.js';
export {
  LakehouseAccess,
  type LakehouseAccessArgs,
  type AzureLakehouseIdentity,
  type AzureOperatorIdentityOptions,
  serviceAccountSubject,
  AKS_TOKEN_AUDIENCE,
} from './access.js';
export {
  LakehouseCatalog,
  type LakehouseCatalogArgs,
  type HiveMetastoreOptions,
  type RegisteredTable,
  registeredTables,
  HIVE_METASTORE_DATABASE,
} from './catalog.js';
export { managementPolicyRules, type ManagementPolicyRule } from './lifecycle.js';
export { AZURE_BUILTIN_ROLES, assignRole, type AzureBuiltinRole } from './roles.js';
export {
  ACCESS_DEFAULTS,
  LAKEHOUSE_ROLES,
  type LakehouseRole,
  type LakehouseRoleOptions,
  type OperatorIdentityOptions,
} from '../access-defaults.js';
