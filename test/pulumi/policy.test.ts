/**
 * Each rule of the policy pack reports what it must, called as the policy engine calls it
 * (validateResource with the resource's inputs), without the Pulumi CLI. The stack tests show
 * that the real stacks pass every rule; these show that each rule catches its violation.
 */
import {
  deltaSafeLifecycle,
  encryptionAtRest,
  identityOnlyAuth,
  LAKEHOUSE_POLICIES,
  leastPrivilege,
  noPublicAccess,
  recoverableDeletes,
  storageFirewall,
  tlsInTransit,
  TYPES,
} from '../../pulumi/policy/rules.js';
import { violationsOf } from './policy-harness.js';

const GOOD_ACCOUNT = {
  kind: 'StorageV2',
  isHnsEnabled: true,
  minimumTlsVersion: 'TLS1_2',
  enableHttpsTrafficOnly: true,
  allowBlobPublicAccess: false,
  allowSharedKeyAccess: false,
  networkRuleSet: { defaultAction: 'Deny' },
  encryption: { requireInfrastructureEncryption: true, keySource: 'Microsoft.Storage' },
};
const FS_SCOPE =
  '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct/blobServices/default/containers/raw';
const ROLE = (id: string) => `/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/${id}`;
const READER = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1';

async function messages(
  policy: (typeof LAKEHOUSE_POLICIES)[number],
  type: string,
  props: Record<string, any>,
) {
  return (await violationsOf(type, props, [policy])).map((v) => v.message);
}

test('a compliant storage account passes every rule', async () => {
  expect(await violationsOf(TYPES.storageAccount, GOOD_ACCOUNT)).toEqual([]);
});

test('encryption at rest: infrastructure encryption, key source, complete CMK settings', async () => {
  expect(await messages(encryptionAtRest, TYPES.storageAccount, { ...GOOD_ACCOUNT, encryption: {} })).toEqual(
    [
      'storage account: set encryption.requireInfrastructureEncryption to true (it can only be set at creation)',
      'storage account: set encryption.keySource',
    ],
  );
  const cmk = {
    requireInfrastructureEncryption: true,
    keySource: 'Microsoft.Keyvault',
    keyVaultProperties: {},
  };
  expect(
    await messages(encryptionAtRest, TYPES.storageAccount, { ...GOOD_ACCOUNT, encryption: cmk }),
  ).toEqual([
    'storage account: a customer-managed key needs encryption.keyVaultProperties.keyVaultUri and keyName',
    'storage account: a customer-managed key needs encryption.encryptionIdentity (a user-assigned identity)',
  ]);
});

test('no public access: blob access, containers, buckets, allUsers, database endpoint', async () => {
  expect(
    await messages(noPublicAccess, TYPES.storageAccount, { ...GOOD_ACCOUNT, allowBlobPublicAccess: true }),
  ).toEqual(['storage account: set allowBlobPublicAccess to false']);
  expect(
    await messages(noPublicAccess, TYPES.blobContainer, { containerName: 'raw', publicAccess: 'Blob' }),
  ).toEqual(['filesystem raw: publicAccess must be None, not Blob']);
  expect(
    await messages(noPublicAccess, TYPES.bucket, {
      name: 'b',
      publicAccessPrevention: 'inherited',
      versioning: {},
    }),
  ).toEqual([
    'bucket b: set publicAccessPrevention to "enforced"',
    'bucket b: set uniformBucketLevelAccess to true (no object ACLs)',
  ]);
  expect(
    await messages(noPublicAccess, TYPES.bucketIamMember, {
      bucket: 'b',
      role: 'roles/storage.objectViewer',
      member: 'allUsers',
    }),
  ).toEqual(['bucket b: allUsers must not be granted anything']);
  expect(
    await messages(noPublicAccess, TYPES.postgresServer, { network: { publicNetworkAccess: 'Enabled' } }),
  ).toEqual([
    'PostgreSQL server: set network.publicNetworkAccess to Disabled (use VNet integration or a private endpoint)',
  ]);
});

test('TLS in transit: HTTPS only with TLS 1.2+, PostgreSQL TLS settings', async () => {
  expect(
    await messages(tlsInTransit, TYPES.storageAccount, {
      ...GOOD_ACCOUNT,
      enableHttpsTrafficOnly: false,
      minimumTlsVersion: 'TLS1_0',
    }),
  ).toEqual([
    'storage account: set enableHttpsTrafficOnly to true',
    'storage account: minimumTlsVersion is TLS1_0; use TLS1_2',
  ]);
  expect(
    await messages(tlsInTransit, TYPES.postgresConfiguration, {
      configurationName: 'require_secure_transport',
      value: 'off',
    }),
  ).toEqual(['PostgreSQL: require_secure_transport must be on']);
  expect(
    await messages(tlsInTransit, TYPES.postgresConfiguration, {
      configurationName: 'ssl_min_protocol_version',
      value: 'TLSv1',
    }),
  ).toEqual(['PostgreSQL: ssl_min_protocol_version is TLSv1; use TLSv1.2']);
});

test('identity-only auth: no shared keys, no database passwords', async () => {
  expect(
    await messages(identityOnlyAuth, TYPES.storageAccount, { ...GOOD_ACCOUNT, allowSharedKeyAccess: true }),
  ).toHaveLength(1);
  expect(
    await messages(identityOnlyAuth, TYPES.postgresServer, {
      authConfig: { activeDirectoryAuth: 'Enabled', passwordAuth: 'Enabled' },
      administratorLoginPassword: 'hunter2',
    }),
  ).toEqual([
    'PostgreSQL server: set authConfig to activeDirectoryAuth Enabled, passwordAuth Disabled',
    'PostgreSQL server: remove administratorLoginPassword',
  ]);
});

test('least privilege: data roles on filesystems, bucket object roles, no project grants', async () => {
  const good = { scope: FS_SCOPE, roleDefinitionId: ROLE(READER), principalType: 'ServicePrincipal' };
  expect(await messages(leastPrivilege, TYPES.roleAssignment, good)).toEqual([]);
  expect(
    await messages(leastPrivilege, TYPES.roleAssignment, {
      scope: '/subscriptions/s/resourceGroups/rg',
      roleDefinitionId: ROLE('b24988ac-6180-42a0-ab88-20f7382dd24c'),
      principalType: 'User',
    }),
  ).toEqual([
    'role assignment: role /subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c is not one of Storage Blob Data Reader, Storage Blob Data Contributor, Key Vault Crypto Service Encryption User',
    'role assignment: scope /subscriptions/s/resourceGroups/rg is a subscription or resource group; scope it to the filesystem',
    'role assignment: set principalType to ServicePrincipal (managed identities; avoids replication races)',
  ]);
  const accountScope = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct';
  expect(await messages(leastPrivilege, TYPES.roleAssignment, { ...good, scope: accountScope })).toEqual([
    `role assignment: scope ${accountScope} is the whole account; scope it to the filesystems the principal needs`,
  ]);
  expect(
    await messages(leastPrivilege, TYPES.bucketIamMember, {
      bucket: 'b',
      role: 'roles/storage.admin',
      member: 'user:a@b.c',
    }),
  ).toEqual([
    'bucket b: role roles/storage.admin is not one of roles/storage.objectViewer, roles/storage.objectUser',
  ]);
  expect(
    await messages(leastPrivilege, TYPES.projectIamMember, { role: 'roles/storage.objectViewer' }),
  ).toEqual(['project-level grant of roles/storage.objectViewer: grant on the bucket instead']);
  expect(
    await messages(leastPrivilege, TYPES.serviceAccountIamMember, {
      role: 'roles/iam.serviceAccountTokenCreator',
      member: 'user:a@b.c',
    }),
  ).toHaveLength(1);
  expect(
    await messages(leastPrivilege, TYPES.serviceAccountIamMember, {
      role: 'roles/iam.workloadIdentityUser',
      member: 'serviceAccount:p.svc.id.goog[lakehouse/lakehouse-operator]',
    }),
  ).toEqual([]);
  expect(
    await messages(leastPrivilege, TYPES.datasetIamMember, {
      datasetId: 'curated',
      role: 'roles/bigquery.dataOwner',
    }),
  ).toEqual(['dataset curated: role roles/bigquery.dataOwner is more than read access']);
});

test('Delta-safe lifecycle on Azure: no archive, data-file prefixes only, deletes only in scratch', async () => {
  const rule = (name: string, prefixMatch: string[], baseBlob: Record<string, unknown>) => ({
    name,
    definition: { filters: { blobTypes: ['blockBlob'], prefixMatch }, actions: { baseBlob } },
  });
  const days = { daysAfterModificationGreaterThan: 30 };
  const policy = {
    policy: {
      rules: [
        rule('ok', ['curated/orders/day=', 'models/registry/part-'], { tierToCool: days }),
        rule('archive', ['curated/orders/day='], { tierToArchive: days }),
        rule('whole', ['curated/'], { tierToCool: days }),
        rule('log', ['curated/orders/_delta_log/'], { delete: days }),
        rule('expireCurated', ['curated/'], { delete: days }),
        rule('expireScratch', ['scratch/'], { delete: days }),
      ],
    },
  };
  expect(await messages(deltaSafeLifecycle, TYPES.managementPolicy, policy)).toEqual([
    'lifecycle rule archive: tierToArchive takes files offline; a live table version could read them',
    'lifecycle rule whole: tiering must be limited to data-file prefixes (<table>/part- or <table>/<column>=)',
    'lifecycle rule log: deleting current blobs is allowed only in the scratch filesystem',
    'lifecycle rule log: never match _delta_log/',
    'lifecycle rule expireCurated: deleting current blobs is allowed only in the scratch filesystem',
  ]);
});

test('Delta-safe lifecycle on GCS: no ARCHIVE, data-file prefixes only, live deletes only in scratch', async () => {
  const bucket = (zone: string, lifecycleRules: unknown[]) => ({
    name: `b-${zone}`,
    labels: { lakehouse_zone: zone },
    lifecycleRules,
  });
  const rules = [
    {
      action: { type: 'SetStorageClass', storageClass: 'NEARLINE' },
      condition: { age: 30, matchesPrefixes: ['t/day='] },
    },
    {
      action: { type: 'SetStorageClass', storageClass: 'ARCHIVE' },
      condition: { age: 30, matchesPrefixes: ['t/part-'] },
    },
    { action: { type: 'SetStorageClass', storageClass: 'NEARLINE' }, condition: { age: 30 } },
    { action: { type: 'Delete' }, condition: { daysSinceNoncurrentTime: 30, withState: 'ARCHIVED' } },
    { action: { type: 'Delete' }, condition: { age: 7 } },
    {
      action: { type: 'Delete' },
      condition: { age: 7, matchesPrefixes: ['t/_delta_log/'], withState: 'ARCHIVED' },
    },
  ];
  expect(await messages(deltaSafeLifecycle, TYPES.bucket, bucket('curated', rules))).toEqual([
    'bucket b-curated rule 1: no ARCHIVE class for table data (365-day minimum, retrieval fees on every read)',
    'bucket b-curated rule 2: storage-class changes must be limited to data-file prefixes',
    'bucket b-curated rule 4: deleting live objects is allowed only in the scratch zone',
    'bucket b-curated rule 5: never match _delta_log/',
  ]);
  expect(await messages(deltaSafeLifecycle, TYPES.bucket, bucket('scratch', [rules[4]]))).toEqual([]);
});

test('recoverable deletes and the advisory firewall rule', async () => {
  expect(
    await messages(recoverableDeletes, TYPES.bucket, { name: 'b', versioning: { enabled: false } }),
  ).toEqual(['bucket b: turn versioning on']);
  expect(
    await messages(recoverableDeletes, TYPES.blobService, { deleteRetentionPolicy: { enabled: false } }),
  ).toHaveLength(2);
  expect(storageFirewall.enforcementLevel).toBe('advisory');
  expect(
    await messages(storageFirewall, TYPES.storageAccount, {
      ...GOOD_ACCOUNT,
      networkRuleSet: { defaultAction: 'Allow' },
    }),
  ).toEqual(['storage account: set networkRuleSet.defaultAction to Deny']);
  expect(LAKEHOUSE_POLICIES.filter((p) => p.enforcementLevel !== 'mandatory').map((p) => p.name)).toEqual([
    'lakehouse-storage-firewall',
  ]);
});
