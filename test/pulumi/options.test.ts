/**
 * The stack options the example stacks leave at their defaults: the two-key removal guard, both
 * ways, on both clouds (data-bearing resources lose `protect` and `retainOnDelete`, and GCS
 * buckets get `forceDestroy`, only when the stack asks for `removalPolicy: destroy` AND sets
 * `lakehouse:removeDataOnDestroy: true`); customer-managed keys; roles turned off; a metastore in
 * a VNet.
 */
import { jest } from '@jest/globals';
import { loadStackConfig } from '../../pulumi/config.js';
import { lakehouseProgram } from '../../pulumi/program.js';
import { resolveRemoval } from '../../pulumi/removal.js';
import { flattenConfig, runWithMocks, stackConfigFile, GCS_SERVICE_AGENT } from './harness.js';
import { violationsOfRun } from './policy-harness.js';

const DATA_TYPES = new Set([
  'azure-native:resources:ResourceGroup',
  'azure-native:storage:StorageAccount',
  'azure-native:storage:BlobContainer',
  'azure-native:dbforpostgresql:Server',
  'azure-native:dbforpostgresql:Database',
  'gcp:storage/bucket:Bucket',
]);

function withKeys(
  file: string,
  removalPolicy: 'retain' | 'destroy',
  flag: boolean,
  extra: Record<string, unknown> = {},
) {
  return {
    ...stackConfigFile(file),
    ...flattenConfig({
      'lakehouse:removalPolicy': removalPolicy,
      'lakehouse:removeDataOnDestroy': flag,
      ...extra,
    }),
  };
}

describe('resolveRemoval', () => {
  test.each([
    [undefined, false, true],
    [undefined, true, true],
    ['retain', true, true],
    ['destroy', false, true],
    ['destroy', true, false],
  ] as const)('removalPolicy %s with the stack flag %s: protected = %s', (requested, flag, kept) => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      expect(resolveRemoval(requested, undefined, flag)).toEqual({
        protect: kept,
        retainOnDelete: kept,
        destroyAllowed: !kept,
      });
      // Asking for destroy with one key only is worth a warning; nothing else is.
      expect(warn.mock.calls.length).toBe(requested === 'destroy' && !flag ? 1 : 0);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('Azure stack', () => {
  test('only both keys together let destroy delete the data', async () => {
    for (const [policy, flag, kept] of [
      ['destroy', false, true],
      ['destroy', true, false],
    ] as const) {
      const warnings: string[] = [];
      const warn = jest
        .spyOn(console, 'warn')
        .mockImplementation((m: unknown) => void warnings.push(String(m)));
      const run = await runWithMocks(withKeys('Pulumi.dev-azure.yaml', policy, flag), () =>
        lakehouseProgram(loadStackConfig()),
      ).finally(() => warn.mockRestore());
      const data = run.resources.filter((r) => DATA_TYPES.has(r.type));
      expect(data.length).toBe(8); // group, account, 4 filesystems, metastore server and database
      for (const r of data) {
        expect({ policy, flag, name: r.name, protect: r.protect, retainOnDelete: r.retainOnDelete }).toEqual({
          policy,
          flag,
          name: r.name,
          protect: kept,
          retainOnDelete: kept,
        });
      }
      if (policy === 'destroy' && !flag) {
        expect(warnings).toContainEqual(expect.stringContaining("removalPolicy 'destroy' is ignored"));
      }
    }
  });

  test('a customer-managed key: its own identity may use the key, and the account encrypts with it', async () => {
    const keyVaultId =
      '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/keys/providers/Microsoft.KeyVault/vaults/lake-keys';
    const run = await runWithMocks(
      withKeys('Pulumi.dev-azure.yaml', 'retain', false, {
        'lakehouse:azure': {
          customerManagedKey: {
            keyVaultId,
            keyVaultUri: 'https://lake-keys.vault.azure.net/',
            keyName: 'lakehouse',
          },
          hiveMetastore: false,
        },
      }),
      () => lakehouseProgram(loadStackConfig()),
    );
    const account = run.ofType('azure-native:storage:StorageAccount')[0]!.inputs;
    const cmkIdentity = run.named('azure-native:managedidentity:UserAssignedIdentity', 'lakehouse-cmk');
    expect(account.identity).toEqual({
      type: 'UserAssigned',
      userAssignedIdentities: [cmkIdentity.state.id ?? expect.any(String)],
    });
    expect(account.encryption).toMatchObject({
      requireInfrastructureEncryption: true,
      keySource: 'Microsoft.Keyvault',
      keyVaultProperties: { keyVaultUri: 'https://lake-keys.vault.azure.net/', keyName: 'lakehouse' },
      encryptionIdentity: { encryptionUserAssignedIdentity: account.identity.userAssignedIdentities[0] },
    });
    const keyUser = run.named('azure-native:authorization:RoleAssignment', 'lakehouse-cmk-key-user').inputs;
    expect(keyUser).toMatchObject({
      scope: keyVaultId,
      principalId: 'principal-of-lakehouse-dev-storage-cmk',
    });
    expect(keyUser.roleDefinitionId).toMatch(/e147488a-f6f5-4113-8e2d-b22465e65bf6$/);
    expect(run.ofType('azure-native:dbforpostgresql:Server')).toEqual([]);
    expect(await violationsOfRun(run.resources)).toEqual([]);
  });
});

describe('other Azure options', () => {
  test('reader: false, no aks, a metastore in a VNet with high availability and geo-redundant backups', async () => {
    const subnet =
      '/subscriptions/s/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/pg';
    const dnsZone =
      '/subscriptions/s/resourceGroups/net/providers/Microsoft.Network/privateDnsZones/lake.postgres.database.azure.com';
    const config = withKeys('Pulumi.dev-azure.yaml', 'retain', false, {
      'lakehouse:reader': false,
      'lakehouse:azure': {
        hiveMetastore: {
          delegatedSubnetId: subnet,
          privateDnsZoneId: dnsZone,
          highAvailability: true,
          geoRedundantBackup: true,
          skuTier: 'GeneralPurpose',
          skuName: 'Standard_D2ds_v5',
        },
      },
    });
    delete config['lakehouse:aks'];
    const az = await runWithMocks(config, () => lakehouseProgram(loadStackConfig()));
    expect(
      az
        .ofType('azure-native:managedidentity:UserAssignedIdentity')
        .map((i) => i.inputs.resourceName)
        .sort(),
    ).toEqual(['lakehouse-dev-operator', 'lakehouse-dev-writer']);
    expect(az.ofType('azure-native:managedidentity:FederatedIdentityCredential')).toEqual([]);
    expect(Object.keys(az.outputs.identities).sort()).toEqual(['operator', 'writer']);
    expect(az.ofType('azure-native:dbforpostgresql:Server')[0]!.inputs).toMatchObject({
      sku: { name: 'Standard_D2ds_v5', tier: 'GeneralPurpose' },
      network: {
        publicNetworkAccess: 'Disabled',
        delegatedSubnetResourceId: subnet,
        privateDnsZoneArmResourceId: dnsZone,
      },
      highAvailability: { mode: 'ZoneRedundant' },
      backup: { geoRedundantBackup: 'Enabled' },
    });
    // Without unityCatalog in the config, no access connector.
    expect(az.ofType('azure-native:databricks:AccessConnector')).toEqual([]);
    expect(await violationsOfRun(az.resources)).toEqual([]);
  });
});

describe('GCP stack', () => {
  test('only both keys together let destroy delete the buckets', async () => {
    for (const [policy, flag, kept] of [
      ['destroy', false, true],
      ['destroy', true, false],
    ] as const) {
      const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
      const run = await runWithMocks(withKeys('Pulumi.dev-gcp.yaml', policy, flag), () =>
        lakehouseProgram(loadStackConfig()),
      ).finally(() => warn.mockRestore());
      const buckets = run.ofType('gcp:storage/bucket:Bucket');
      expect(buckets).toHaveLength(4);
      for (const b of buckets) {
        expect({
          policy,
          flag,
          protect: b.protect,
          retainOnDelete: b.retainOnDelete,
          forceDestroy: b.inputs.forceDestroy,
        }).toEqual({
          policy,
          flag,
          protect: kept,
          retainOnDelete: kept,
          forceDestroy: !kept,
        });
      }
    }
  });

  test('CMEK: the Cloud Storage service agent may use the key and every bucket encrypts with it', async () => {
    const key = 'projects/acme-kms/locations/europe/keyRings/lake/cryptoKeys/lakehouse';
    const warnings: string[] = [];
    const warn = jest
      .spyOn(console, 'warn')
      .mockImplementation((m: unknown) => void warnings.push(String(m)));
    const run = await runWithMocks(
      withKeys('Pulumi.dev-gcp.yaml', 'retain', false, {
        'lakehouse:gcp': { location: 'EU', kmsKeyName: key },
      }),
      () => lakehouseProgram(loadStackConfig()),
    ).finally(() => warn.mockRestore());
    expect(warnings).toEqual([
      expect.stringContaining('LakeTable raw-order-fallouts is not registered in BigQuery'),
    ]);
    expect(run.ofType('gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember').map((m) => m.inputs)).toEqual([
      {
        cryptoKeyId: key,
        role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter',
        member: `serviceAccount:${GCS_SERVICE_AGENT}`,
      },
    ]);
    for (const b of run.ofType('gcp:storage/bucket:Bucket')) {
      expect(b.inputs.encryption).toEqual({ defaultKmsKeyName: key });
    }
    expect(await violationsOfRun(run.resources)).toEqual([]);
  });
});
