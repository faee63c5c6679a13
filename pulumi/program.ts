/**
 * The lakehouse program: one stack, on the cloud its config names, built from the components
 * and the LakeTable folder. Returns the stack outputs the operator's overlays read.
 */
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { LakehouseError } from '../lib/errors.js';
import type { StackConfig } from './config.js';
import { PULUMI_LAKEHOUSE_DEFAULTS } from './defaults.js';
import { checkNamePrefix } from './naming.js';
import { dataResourceOptions, resolveRemoval } from './removal.js';
import { loadCatalogTables, type CatalogTable } from './tables.js';

/** Where relative paths in the config (`tablesDir`) start: the folder of `Pulumi.yaml`. */
export interface ProgramOptions {
  readonly projectRoot?: string;
}

/** Runs the program for `config`; the result is the stack's outputs. */
export async function lakehouseProgram(
  config: StackConfig,
  options: ProgramOptions = {},
): Promise<Record<string, unknown>> {
  const namePrefix = config.namePrefix ?? PULUMI_LAKEHOUSE_DEFAULTS.namePrefix;
  checkNamePrefix(namePrefix);
  const tablesDir = path.resolve(
    options.projectRoot ?? process.cwd(),
    config.tablesDir ?? PULUMI_LAKEHOUSE_DEFAULTS.tablesDir,
  );
  const tables = await loadCatalogTables(tablesDir);
  return config.cloud === 'azure'
    ? azureProgram(config, namePrefix, tables)
    : gcpProgram(config, namePrefix, tables);
}

/** The Kubernetes service account the operator runs as, for the overlay. */
function operatorServiceAccount(config: StackConfig, annotations: Record<string, pulumi.Input<string>>) {
  return {
    namespace: config.operator?.namespace ?? PULUMI_LAKEHOUSE_DEFAULTS.kubernetesNamespace,
    name: config.operator?.serviceAccount ?? PULUMI_LAKEHOUSE_DEFAULTS.kubernetesServiceAccount,
    annotations,
  };
}

/** `{ default: { raw: <uri>, … } }`: the `StorageRoots` the operator and `lakehouse reconcile` take. */
function storageRoots(zoneUris: ReadonlyMap<string, pulumi.Output<string>>) {
  return { default: Object.fromEntries(zoneUris) };
}

async function azureProgram(config: StackConfig, namePrefix: string, tables: CatalogTable[]) {
  const [{ getClientConfigOutput }, resources, azureComponents] = await Promise.all([
    import('@pulumi/azure-native/authorization/index.js'),
    import('@pulumi/azure-native/resources/index.js'),
    import('./azure/index.js'),
  ]);
  const a = config.azure ?? {};
  const location = a.location ?? new pulumi.Config('azure-native').get('location');
  if (location === undefined) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      'no Azure location: set lakehouse:azure.location or azure-native:location (e.g. westeurope)',
    );
  }
  const client = getClientConfigOutput();
  const group = new resources.ResourceGroup(
    'lakehouse',
    { resourceGroupName: a.resourceGroupName ?? `${namePrefix}-rg`, location },
    // Deleting a resource group deletes everything in it: the same two keys guard it.
    dataResourceOptions(resolveRemoval(config.removalPolicy), {}),
  );
  const common = {
    resourceGroupName: group.name,
    location,
    subscriptionId: client.subscriptionId,
    namePrefix,
  };
  const storage = new azureComponents.LakehouseStorage('lakehouse', {
    ...common,
    ...(config.zones !== undefined && { zones: config.zones }),
    ...(config.lifecycle !== undefined && { lifecycle: config.lifecycle }),
    tables,
    ...(a.storageAccountName !== undefined && { storageAccountName: a.storageAccountName }),
    ...(a.sku !== undefined && { sku: a.sku }),
    ...(a.allowSharedKeyAccess !== undefined && { allowSharedKeyAccess: a.allowSharedKeyAccess }),
    ...(a.network !== undefined && { network: a.network }),
    ...(a.customerManagedKey !== undefined && { customerManagedKey: a.customerManagedKey }),
    ...(a.softDeleteRetentionDays !== undefined && { softDeleteRetentionDays: a.softDeleteRetentionDays }),
    ...(a.containerSoftDeleteRetentionDays !== undefined && {
      containerSoftDeleteRetentionDays: a.containerSoftDeleteRetentionDays,
    }),
    ...(config.removalPolicy !== undefined && { removalPolicy: config.removalPolicy }),
  });
  const access = new azureComponents.LakehouseAccess('lakehouse', {
    ...common,
    storage,
    ...(config.reader !== undefined && { reader: config.reader }),
    ...(config.writer !== undefined && { writer: config.writer }),
    operator: {
      ...config.operator,
      ...(config.aks !== undefined && { oidcIssuerUrl: config.aks.oidcIssuerUrl }),
    },
  });
  const catalog = new azureComponents.LakehouseCatalog('lakehouse', {
    ...common,
    tenantId: client.tenantId,
    storage,
    tables,
    operator: access.identities.operator,
    ...(a.hiveMetastore !== undefined && { hiveMetastore: a.hiveMetastore }),
    ...(a.unityCatalog !== undefined && { unityCatalog: a.unityCatalog }),
    ...(config.removalPolicy !== undefined && { removalPolicy: config.removalPolicy }),
  });

  return {
    cloud: 'azure',
    location,
    resourceGroup: group.name,
    tenantId: client.tenantId,
    storageAccount: storage.accountName,
    dfsEndpoint: storage.dfsEndpoint,
    storageRoots: storageRoots(storage.zoneUris),
    identities: Object.fromEntries(
      Object.entries(access.identities).map(([role, i]) => [role, { clientId: i.clientId, zones: i.zones }]),
    ),
    operatorServiceAccount: operatorServiceAccount(config, {
      'azure.workload.identity/client-id': access.identities.operator.clientId,
    }),
    catalog: {
      metastoreHost: catalog.metastoreHost,
      metastoreDatabase: catalog.database?.name,
      unityAccessConnectorId: catalog.accessConnector?.id,
      schemaDdl: catalog.schemaDdl,
      tables: catalog.tables,
    },
  };
}

async function gcpProgram(config: StackConfig, namePrefix: string, tables: CatalogTable[]) {
  const gcpComponents = await import('./gcp/index.js');
  const g = config.gcp ?? {};
  const project = g.project ?? new pulumi.Config('gcp').get('project');
  if (project === undefined) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      'no GCP project: set gcp:project (or lakehouse:gcp.project)',
    );
  }
  const storage = new gcpComponents.LakehouseStorage('lakehouse', {
    project,
    namePrefix,
    ...(g.location !== undefined && { location: g.location }),
    ...(config.zones !== undefined && { zones: config.zones }),
    ...(config.lifecycle !== undefined && { lifecycle: config.lifecycle }),
    tables,
    ...(g.kmsKeyName !== undefined && { kmsKeyName: g.kmsKeyName }),
    ...(g.accessLogBucket !== undefined && { accessLogBucket: g.accessLogBucket }),
    ...(g.softDeleteRetentionDays !== undefined && { softDeleteRetentionDays: g.softDeleteRetentionDays }),
    ...(config.removalPolicy !== undefined && { removalPolicy: config.removalPolicy }),
  });
  const access = new gcpComponents.LakehouseAccess('lakehouse', {
    project,
    namePrefix,
    storage,
    ...(config.reader !== undefined && { reader: config.reader }),
    ...(config.writer !== undefined && { writer: config.writer }),
    operator: { ...config.operator, ...(config.gke !== undefined && { gkeWorkloadIdentity: config.gke }) },
  });
  const catalog = new gcpComponents.LakehouseCatalog('lakehouse', {
    project,
    namePrefix,
    storage,
    tables,
    ...(access.identities.reader !== undefined && { readers: access.identities.reader }),
  });

  return {
    cloud: 'gcp',
    project,
    location: storage.location,
    buckets: Object.fromEntries([...storage.buckets].map(([zone, b]) => [zone, b.name])),
    storageRoots: storageRoots(storage.zoneUris),
    identities: Object.fromEntries(
      Object.entries(access.identities).map(([role, i]) => [role, { email: i.email, zones: i.zones }]),
    ),
    operatorServiceAccount: operatorServiceAccount(config, {
      'iam.gke.io/gcp-service-account': access.identities.operator.email,
    }),
    catalog: {
      bigqueryConnection: catalog.connection.name,
      datasets: [...catalog.datasets.keys()],
      tables: Object.fromEntries(
        [...catalog.tables].map(([name, t]) => [
          name,
          pulumi.interpolate`${t.project}.${t.datasetId}.${t.tableId}`,
        ]),
      ),
      skippedTables: catalog.skipped,
    },
  };
}
