/**
 * The Azure stack of Pulumi.dev-azure.yaml, run with mocks: every security property of the
 * storage, identities and catalog, the tables registered from examples/lakehouse, the outputs
 * the operator overlay reads, and zero policy violations.
 */
import { loadStackConfig } from '../../pulumi/config.js';
import { deterministicGuid } from '../../pulumi/naming.js';
import { lakehouseProgram } from '../../pulumi/program.js';
import { runWithMocks, stackConfigFile, SUBSCRIPTION_ID, TENANT_ID, type ProgramRun } from './harness.js';
import { violationsOfRun } from './policy-harness.js';

const T = {
  group: 'azure-native:resources:ResourceGroup',
  account: 'azure-native:storage:StorageAccount',
  container: 'azure-native:storage:BlobContainer',
  blobService: 'azure-native:storage:BlobServiceProperties',
  lifecycle: 'azure-native:storage:ManagementPolicy',
  identity: 'azure-native:managedidentity:UserAssignedIdentity',
  federated: 'azure-native:managedidentity:FederatedIdentityCredential',
  role: 'azure-native:authorization:RoleAssignment',
  pg: 'azure-native:dbforpostgresql:Server',
  pgConfig: 'azure-native:dbforpostgresql:Configuration',
  pgAdmin: 'azure-native:dbforpostgresql:Administrator',
  pgDb: 'azure-native:dbforpostgresql:Database',
  connector: 'azure-native:databricks:AccessConnector',
};
const READER = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1';
const CONTRIBUTOR = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe';
const ZONES = ['raw', 'curated', 'models', 'scratch'];

let run: ProgramRun;
beforeAll(async () => {
  run = await runWithMocks(stackConfigFile('Pulumi.dev-azure.yaml'), () =>
    lakehouseProgram(loadStackConfig()),
  );
});

const account = () => run.ofType(T.account)[0]!;
const accountName = () => account().inputs.accountName as string;

describe('storage account', () => {
  test('one StorageV2 account with hierarchical namespace (ADLS Gen2)', () => {
    expect(run.ofType(T.account)).toHaveLength(1);
    expect(account().inputs).toMatchObject({
      kind: 'StorageV2',
      isHnsEnabled: true,
      resourceGroupName: 'lakehouse-dev-rg',
    });
    expect(accountName()).toMatch(/^lakehousedev[0-9a-f]{6}$/);
  });

  test('TLS 1.2, HTTPS only, no anonymous blob access, shared keys off, Entra ID by default', () => {
    expect(account().inputs).toMatchObject({
      minimumTlsVersion: 'TLS1_2',
      enableHttpsTrafficOnly: true,
      allowBlobPublicAccess: false,
      allowSharedKeyAccess: false,
      defaultToOAuthAuthentication: true,
      allowCrossTenantReplication: false,
    });
  });

  test('infrastructure encryption with Microsoft-managed keys when no CMK is configured', () => {
    expect(account().inputs.encryption).toMatchObject({
      requireInfrastructureEncryption: true,
      keySource: 'Microsoft.Storage',
      services: { blob: { enabled: true, keyType: 'Account' } },
    });
    expect(account().inputs.identity).toBeUndefined();
  });

  test('the firewall denies by default and lets in the configured AKS subnet', () => {
    expect(account().inputs.networkRuleSet).toEqual({
      defaultAction: 'Deny',
      bypass: 'AzureServices',
      virtualNetworkRules: [
        {
          virtualNetworkResourceId:
            '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/aks-dev/providers/Microsoft.Network/virtualNetworks/aks-vnet/subnets/nodes',
          action: 'Allow',
        },
      ],
      ipRules: [],
    });
  });

  test('a filesystem per zone, none public, with soft delete for blobs and filesystems', () => {
    const containers = run.ofType(T.container);
    expect(containers.map((c) => c.inputs.containerName).sort()).toEqual([...ZONES].sort());
    for (const c of containers) {
      expect(c.inputs).toMatchObject({ accountName: accountName(), publicAccess: 'None' });
    }
    expect(run.ofType(T.blobService)[0]!.inputs).toMatchObject({
      blobServicesName: 'default',
      deleteRetentionPolicy: { enabled: true, days: 7 },
      containerDeleteRetentionPolicy: { enabled: true, days: 7 },
    });
  });
});

describe('Delta-safe lifecycle management policy', () => {
  const rules = () => run.ofType(T.lifecycle)[0]!.inputs.policy.rules as any[];

  test('tiering matches only the data-file prefixes of the example tables, never _delta_log/', () => {
    const byName = Object.fromEntries(rules().map((r) => [r.name, r]));
    expect(byName.rawTierDataFiles1.definition).toEqual({
      filters: { blobTypes: ['blockBlob'], prefixMatch: ['raw/order_fallout/order_fallouts/event_date='] },
      actions: { baseBlob: { tierToCool: { daysAfterModificationGreaterThan: 30 } } },
    });
    expect(byName.curatedTierDataFiles1.definition.filters.prefixMatch).toEqual([
      'curated/order_fallout/fallout_predictions/day=',
      'curated/order_fallout/order_features/day=',
    ]);
    expect(byName.curatedTierDataFiles1.definition.actions.baseBlob).toEqual({
      tierToCool: { daysAfterModificationGreaterThan: 90 },
    });
    // The model registry is not partitioned: its data files are named part-*.
    expect(byName.modelsTierDataFiles1.definition).toEqual({
      filters: { blobTypes: ['blockBlob'], prefixMatch: ['models/registry/model_versions/part-'] },
      actions: {
        baseBlob: {
          tierToCool: { daysAfterModificationGreaterThan: 30 },
          tierToCold: { daysAfterModificationGreaterThan: 180 },
        },
      },
    });
    for (const rule of rules()) {
      expect(JSON.stringify(rule)).not.toContain('_delta_log');
      expect(rule.definition.actions.baseBlob.tierToArchive).toBeUndefined();
    }
  });

  test('only scratch expires, after the configured 3 days', () => {
    const deleting = rules().filter((r) => r.definition.actions.baseBlob.delete !== undefined);
    expect(deleting).toEqual([
      {
        name: 'scratchExpire',
        enabled: true,
        type: 'Lifecycle',
        definition: {
          filters: { blobTypes: ['blockBlob'], prefixMatch: ['scratch/'] },
          actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: 3 } } },
        },
      },
    ]);
  });
});

describe('identities and role assignments', () => {
  test('user-assigned identities for reader, writer and operator', () => {
    expect(
      run
        .ofType(T.identity)
        .map((i) => i.inputs.resourceName)
        .sort(),
    ).toEqual(['lakehouse-dev-operator', 'lakehouse-dev-reader', 'lakehouse-dev-writer']);
  });

  test('built-in data roles scoped to the filesystems each needs, as ServicePrincipal, with deterministic GUID names', () => {
    const grants = run
      .ofType(T.role)
      .filter((r) => !r.name.includes('unity'))
      .map((r) => {
        const roleId = (r.inputs.roleDefinitionId as string).split('/').pop();
        const zone = (r.inputs.scope as string).split('/').pop();
        const principal = r.inputs.principalId as string;
        expect(r.inputs.principalType).toBe('ServicePrincipal');
        expect(r.inputs.roleDefinitionId).toBe(
          `/subscriptions/${SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/${roleId}`,
        );
        expect(r.inputs.scope).toMatch(
          new RegExp(`/storageAccounts/${accountName()}/blobServices/default/containers/${zone}$`),
        );
        expect(r.inputs.roleAssignmentName).toBe(deterministicGuid(r.inputs.scope, principal, roleId!));
        expect(r.inputs.roleAssignmentName).toMatch(
          /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        );
        return `${principal.replace('principal-of-lakehouse-dev-', '')} ${roleId === READER ? 'Reader' : roleId === CONTRIBUTOR ? 'Contributor' : roleId} ${zone}`;
      });
    expect(grants.sort()).toEqual(
      [
        'reader Reader curated',
        'reader Reader models',
        'writer Contributor raw',
        'writer Contributor curated',
        ...ZONES.map((z) => `operator Contributor ${z}`),
      ].sort(),
    );
  });

  test('the operator signs in from AKS through a federated identity credential', () => {
    const [cred, ...more] = run.ofType(T.federated);
    expect(more).toHaveLength(0);
    expect(cred!.inputs).toEqual({
      resourceGroupName: 'lakehouse-dev-rg',
      resourceName: 'lakehouse-dev-operator',
      federatedIdentityCredentialResourceName: 'aks-workload-identity',
      issuer:
        'https://westeurope.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/11111111-1111-1111-1111-111111111111/',
      subject: 'system:serviceaccount:lakehouse:lakehouse-operator',
      audiences: ['api://AzureADTokenExchange'],
    });
  });
});

describe('catalog', () => {
  test('Hive Metastore on PostgreSQL Flexible Server: Entra ID only, no public access, TLS 1.2 required', () => {
    const server = run.ofType(T.pg)[0]!;
    expect(server.inputs).toMatchObject({
      version: '16',
      sku: { name: 'Standard_B1ms', tier: 'Burstable' },
      authConfig: { activeDirectoryAuth: 'Enabled', passwordAuth: 'Disabled', tenantId: TENANT_ID },
      network: { publicNetworkAccess: 'Disabled' },
      backup: { backupRetentionDays: 14, geoRedundantBackup: 'Disabled' },
    });
    expect(server.inputs.administratorLoginPassword).toBeUndefined();
    const settings = Object.fromEntries(
      run.ofType(T.pgConfig).map((c) => [c.inputs.configurationName, c.inputs.value]),
    );
    expect(settings).toEqual({ require_secure_transport: 'on', ssl_min_protocol_version: 'TLSv1.2' });
    expect(run.ofType(T.pgAdmin)[0]!.inputs).toMatchObject({
      objectId: 'principal-of-lakehouse-dev-operator',
      principalName: 'lakehouse-dev-operator',
      principalType: 'ServicePrincipal',
    });
    expect(run.ofType(T.pgDb)[0]!.inputs.databaseName).toBe('hive_metastore');
  });

  test('a Unity Catalog access connector may read and write every zone filesystem', () => {
    expect(run.ofType(T.connector)[0]!.inputs).toMatchObject({ identity: { type: 'SystemAssigned' } });
    const unity = run.ofType(T.role).filter((r) => r.name.includes('unity'));
    expect(unity.map((r) => (r.inputs.scope as string).split('/').pop()).sort()).toEqual([...ZONES].sort());
    for (const r of unity) {
      expect(r.inputs).toMatchObject({
        principalId: 'principal-of-unity',
        principalType: 'ServicePrincipal',
      });
      expect(r.inputs.roleDefinitionId).toMatch(new RegExp(`${CONTRIBUTOR}$`));
    }
  });

  test('every LakeTable of examples/lakehouse with catalog.enabled is registered with its abfss location', () => {
    const account = accountName();
    expect(run.outputs.catalog.schemaDdl).toEqual([
      'CREATE SCHEMA IF NOT EXISTS `curated`',
      'CREATE SCHEMA IF NOT EXISTS `models`',
      'CREATE SCHEMA IF NOT EXISTS `raw`',
    ]);
    expect(run.outputs.catalog.tables).toEqual([
      {
        name: 'fallout-predictions',
        database: 'curated',
        table: 'fallout_predictions',
        location: `abfss://curated@${account}.dfs.core.windows.net/order_fallout/fallout_predictions`,
        ddl:
          'CREATE TABLE IF NOT EXISTS `curated`.`fallout_predictions` USING DELTA LOCATION ' +
          `'abfss://curated@${account}.dfs.core.windows.net/order_fallout/fallout_predictions'`,
      },
      expect.objectContaining({ name: 'order-features', database: 'curated', table: 'order_features' }),
      expect.objectContaining({
        name: 'model-registry',
        database: 'models',
        location: `abfss://models@${account}.dfs.core.windows.net/registry/model_versions`,
      }),
      expect.objectContaining({ name: 'raw-order-fallouts', database: 'raw', table: 'raw_order_fallouts' }),
    ]);
  });
});

test('data-bearing resources are protected and retained on delete; the rest are not', () => {
  const dataTypes = new Set([T.group, T.account, T.container, T.pg, T.pgDb]);
  for (const r of run.resources.filter((r) => r.custom)) {
    if (dataTypes.has(r.type)) {
      expect({ name: r.name, protect: r.protect, retainOnDelete: r.retainOnDelete }).toEqual({
        name: r.name,
        protect: true,
        retainOnDelete: true,
      });
    } else {
      expect({ name: r.name, protect: r.protect ?? false }).toEqual({ name: r.name, protect: false });
    }
  }
});

test('stack outputs carry what the operator overlay needs', () => {
  const account = accountName();
  expect(run.outputs).toMatchObject({
    cloud: 'azure',
    location: 'westeurope',
    tenantId: TENANT_ID,
    storageAccount: account,
    dfsEndpoint: `https://${account}.dfs.core.windows.net/`,
    storageRoots: {
      default: Object.fromEntries(ZONES.map((z) => [z, `abfss://${z}@${account}.dfs.core.windows.net/`])),
    },
    operatorServiceAccount: {
      namespace: 'lakehouse',
      name: 'lakehouse-operator',
      annotations: { 'azure.workload.identity/client-id': 'client-of-lakehouse-dev-operator' },
    },
    catalog: {
      metastoreHost: expect.stringMatching(/^lakehouse-dev-hms-[0-9a-f]{6}\.postgres\.database\.azure\.com$/),
      metastoreDatabase: 'hive_metastore',
    },
  });
});

test('the policy pack finds nothing to report', async () => {
  expect(await violationsOfRun(run.resources)).toEqual([]);
});
