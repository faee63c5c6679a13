/**
 * The lakehouse's security rules, written once as Pulumi policies: the policy pack
 * (`pulumi preview --policy-pack pulumi/policy`) runs them on every resource of a stack, and the
 * unit tests run them on the resources the mocked program registers. Each rule matches resource
 * types by their Pulumi type token, so the pack loads no cloud SDK.
 */
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from '@pulumi/policy';

/** The Pulumi type tokens the rules look at. */
export const TYPES = {
  storageAccount: 'azure-native:storage:StorageAccount',
  blobContainer: 'azure-native:storage:BlobContainer',
  blobService: 'azure-native:storage:BlobServiceProperties',
  managementPolicy: 'azure-native:storage:ManagementPolicy',
  roleAssignment: 'azure-native:authorization:RoleAssignment',
  postgresServer: 'azure-native:dbforpostgresql:Server',
  postgresConfiguration: 'azure-native:dbforpostgresql:Configuration',
  bucket: 'gcp:storage/bucket:Bucket',
  bucketIamMember: 'gcp:storage/bucketIAMMember:BucketIAMMember',
  bucketIamBinding: 'gcp:storage/bucketIAMBinding:BucketIAMBinding',
  bucketIamPolicy: 'gcp:storage/bucketIAMPolicy:BucketIAMPolicy',
  projectIamMember: 'gcp:projects/iAMMember:IAMMember',
  projectIamBinding: 'gcp:projects/iAMBinding:IAMBinding',
  projectIamPolicy: 'gcp:projects/iAMPolicy:IAMPolicy',
  serviceAccountIamMember: 'gcp:serviceaccount/iAMMember:IAMMember',
  datasetIamMember: 'gcp:bigquery/datasetIamMember:DatasetIamMember',
} as const;

/** The Azure built-in roles a lakehouse principal may hold (data-plane roles only). */
const ALLOWED_AZURE_ROLE_IDS: Readonly<Record<string, string>> = {
  '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1': 'Storage Blob Data Reader',
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe': 'Storage Blob Data Contributor',
  'e147488a-f6f5-4113-8e2d-b22465e65bf6': 'Key Vault Crypto Service Encryption User',
};
/** The GCS roles a lakehouse principal may hold on a bucket. */
const ALLOWED_BUCKET_ROLES = new Set(['roles/storage.objectViewer', 'roles/storage.objectUser']);
/** Principals that mean "anyone". */
const PUBLIC_MEMBERS = /^(allUsers|allAuthenticatedUsers)$/;
const TLS_OK = new Set(['TLS1_2', 'TLS1_3']);

type Check = (props: Record<string, any>, report: ReportViolation, args: ResourceValidationArgs) => void;

/** A policy made of checks keyed by resource type; other types are not its business. */
function policy(
  name: string,
  description: string,
  checks: Partial<Record<string, Check>>,
  enforcementLevel: 'mandatory' | 'advisory' = 'mandatory',
): ResourceValidationPolicy {
  return {
    name,
    description,
    enforcementLevel,
    validateResource: (args, report) => {
      const check = checks[args.type];
      if (check !== undefined) check(args.props, report, args);
    },
  };
}

export const encryptionAtRest = policy(
  'lakehouse-encryption-at-rest',
  'Storage accounts use infrastructure (double) encryption with a key source, and a customer-managed key names its vault, key and identity.',
  {
    [TYPES.storageAccount]: (p, report) => {
      const e = p.encryption;
      if (e?.requireInfrastructureEncryption !== true) {
        report(
          'storage account: set encryption.requireInfrastructureEncryption to true (it can only be set at creation)',
        );
      }
      if (e?.keySource === undefined) report('storage account: set encryption.keySource');
      if (e?.keySource === 'Microsoft.Keyvault') {
        if (e.keyVaultProperties?.keyVaultUri === undefined || e.keyVaultProperties?.keyName === undefined) {
          report(
            'storage account: a customer-managed key needs encryption.keyVaultProperties.keyVaultUri and keyName',
          );
        }
        if (e.encryptionIdentity?.encryptionUserAssignedIdentity === undefined) {
          report(
            'storage account: a customer-managed key needs encryption.encryptionIdentity (a user-assigned identity)',
          );
        }
      }
    },
  },
);

export const noPublicAccess = policy(
  'lakehouse-no-public-access',
  'No anonymous access: no public blob access, uniform bucket access with public access prevention enforced, no allUsers grants, no public database endpoint.',
  {
    [TYPES.storageAccount]: (p, report) => {
      if (p.allowBlobPublicAccess !== false) report('storage account: set allowBlobPublicAccess to false');
    },
    [TYPES.blobContainer]: (p, report) => {
      if (p.publicAccess !== undefined && p.publicAccess !== 'None') {
        report(`filesystem ${p.containerName}: publicAccess must be None, not ${p.publicAccess}`);
      }
    },
    [TYPES.postgresServer]: (p, report) => {
      if (p.network?.publicNetworkAccess !== 'Disabled') {
        report(
          'PostgreSQL server: set network.publicNetworkAccess to Disabled (use VNet integration or a private endpoint)',
        );
      }
    },
    [TYPES.bucket]: (p, report) => {
      if (p.publicAccessPrevention !== 'enforced')
        report(`bucket ${p.name}: set publicAccessPrevention to "enforced"`);
      if (p.uniformBucketLevelAccess !== true)
        report(`bucket ${p.name}: set uniformBucketLevelAccess to true (no object ACLs)`);
    },
    [TYPES.bucketIamMember]: (p, report) => {
      if (PUBLIC_MEMBERS.test(String(p.member)))
        report(`bucket ${p.bucket}: ${p.member} must not be granted anything`);
    },
    [TYPES.bucketIamBinding]: (p, report) => {
      for (const m of p.members ?? []) {
        if (PUBLIC_MEMBERS.test(String(m))) report(`bucket ${p.bucket}: ${m} must not be granted anything`);
      }
    },
  },
);

export const tlsInTransit = policy(
  'lakehouse-tls-in-transit',
  'HTTPS only with TLS 1.2 or later on storage accounts; the metastore database requires TLS 1.2 or later.',
  {
    [TYPES.storageAccount]: (p, report) => {
      if (p.enableHttpsTrafficOnly !== true) report('storage account: set enableHttpsTrafficOnly to true');
      if (!TLS_OK.has(p.minimumTlsVersion)) {
        report(`storage account: minimumTlsVersion is ${p.minimumTlsVersion ?? 'unset'}; use TLS1_2`);
      }
    },
    [TYPES.postgresConfiguration]: (p, report) => {
      if (p.configurationName === 'require_secure_transport' && String(p.value).toLowerCase() !== 'on') {
        report('PostgreSQL: require_secure_transport must be on');
      }
      if (p.configurationName === 'ssl_min_protocol_version' && !['TLSv1.2', 'TLSv1.3'].includes(p.value)) {
        report(`PostgreSQL: ssl_min_protocol_version is ${p.value}; use TLSv1.2`);
      }
    },
  },
);

export const identityOnlyAuth = policy(
  'lakehouse-identity-only-auth',
  'Clients sign in with Entra ID: no storage account keys or SAS, no database passwords.',
  {
    [TYPES.storageAccount]: (p, report) => {
      if (p.allowSharedKeyAccess !== false) {
        report(
          'storage account: set allowSharedKeyAccess to false (account keys and SAS grant everything to whoever holds them)',
        );
      }
    },
    [TYPES.postgresServer]: (p, report) => {
      if (p.authConfig?.passwordAuth !== 'Disabled' || p.authConfig?.activeDirectoryAuth !== 'Enabled') {
        report('PostgreSQL server: set authConfig to activeDirectoryAuth Enabled, passwordAuth Disabled');
      }
      if (p.administratorLoginPassword !== undefined)
        report('PostgreSQL server: remove administratorLoginPassword');
    },
  },
);

export const leastPrivilege = policy(
  'lakehouse-least-privilege',
  'Principals hold data-plane roles on the filesystems or buckets they use: no subscription, resource-group or project-wide grants, no admin roles.',
  {
    [TYPES.roleAssignment]: (p, report) => {
      const roleId = String(p.roleDefinitionId ?? '')
        .split('/')
        .pop();
      if (roleId === undefined || ALLOWED_AZURE_ROLE_IDS[roleId] === undefined) {
        report(
          `role assignment: role ${p.roleDefinitionId} is not one of ${Object.values(ALLOWED_AZURE_ROLE_IDS).join(', ')}`,
        );
      }
      const scope = String(p.scope ?? '');
      if (!scope.includes('/providers/')) {
        report(
          `role assignment: scope ${scope} is a subscription or resource group; scope it to the filesystem`,
        );
      } else if (
        /\/Microsoft\.Storage\/storageAccounts\/[^/]+$/i.test(scope) &&
        roleId !== undefined &&
        ALLOWED_AZURE_ROLE_IDS[roleId]?.startsWith('Storage Blob') === true
      ) {
        report(
          `role assignment: scope ${scope} is the whole account; scope it to the filesystems the principal needs`,
        );
      }
      if (p.principalType !== 'ServicePrincipal') {
        report(
          'role assignment: set principalType to ServicePrincipal (managed identities; avoids replication races)',
        );
      }
    },
    [TYPES.bucketIamMember]: (p, report) => {
      if (!ALLOWED_BUCKET_ROLES.has(p.role)) {
        report(`bucket ${p.bucket}: role ${p.role} is not one of ${[...ALLOWED_BUCKET_ROLES].join(', ')}`);
      }
    },
    [TYPES.bucketIamBinding]: (p, report) => {
      report(`bucket ${p.bucket}: use BucketIAMMember; a binding replaces every other member of ${p.role}`);
    },
    [TYPES.bucketIamPolicy]: (p, report) => {
      report(`bucket ${p.bucket}: use BucketIAMMember; a policy replaces every other grant on the bucket`);
    },
    [TYPES.projectIamMember]: (p, report) =>
      report(`project-level grant of ${p.role}: grant on the bucket instead`),
    [TYPES.projectIamBinding]: (p, report) =>
      report(`project-level grant of ${p.role}: grant on the bucket instead`),
    [TYPES.projectIamPolicy]: (_p, report) => report('project IAM policy: grant on the buckets instead'),
    [TYPES.serviceAccountIamMember]: (p, report) => {
      if (
        p.role !== 'roles/iam.workloadIdentityUser' ||
        !/^serviceAccount:[^[]+\.svc\.id\.goog\[[^/\]]+\/[^\]]+\]$/.test(p.member)
      ) {
        report(
          `service account grant of ${p.role} to ${p.member}: only roles/iam.workloadIdentityUser for one Kubernetes service account`,
        );
      }
    },
    [TYPES.datasetIamMember]: (p, report) => {
      if (p.role !== 'roles/bigquery.dataViewer')
        report(`dataset ${p.datasetId}: role ${p.role} is more than read access`);
    },
  },
);

/** True when a lifecycle filter or prefix could match a `_delta_log/` object. */
function touchesDeltaLog(prefix: string): boolean {
  return prefix.includes('_delta_log');
}

export const deltaSafeLifecycle = policy(
  'lakehouse-delta-safe-lifecycle',
  'Lifecycle rules never archive what a live table version reads, never touch _delta_log/, and expire live objects only in the scratch zone.',
  {
    [TYPES.managementPolicy]: (p, report) => {
      for (const rule of p.policy?.rules ?? []) {
        const prefixes: string[] = rule.definition?.filters?.prefixMatch ?? [];
        const base = rule.definition?.actions?.baseBlob ?? {};
        if (base.tierToArchive !== undefined) {
          report(
            `lifecycle rule ${rule.name}: tierToArchive takes files offline; a live table version could read them`,
          );
        }
        const tiers =
          base.tierToCool !== undefined || base.tierToCold !== undefined || base.tierToHot !== undefined;
        if (
          tiers &&
          (prefixes.length === 0 || prefixes.some((x) => !/(\/part-|=)$/.test(x) || touchesDeltaLog(x)))
        ) {
          report(
            `lifecycle rule ${rule.name}: tiering must be limited to data-file prefixes (<table>/part- or <table>/<column>=)`,
          );
        }
        if (
          base.delete !== undefined &&
          (prefixes.length === 0 || prefixes.some((x) => !x.startsWith('scratch/')))
        ) {
          report(
            `lifecycle rule ${rule.name}: deleting current blobs is allowed only in the scratch filesystem`,
          );
        }
        if (prefixes.some(touchesDeltaLog)) report(`lifecycle rule ${rule.name}: never match _delta_log/`);
      }
    },
    [TYPES.bucket]: (p, report) => {
      const scratch = p.labels?.lakehouse_zone === 'scratch';
      for (const [i, rule] of (p.lifecycleRules ?? []).entries()) {
        const c = rule.condition ?? {};
        const prefixes: string[] = c.matchesPrefixes ?? [];
        if (rule.action?.type === 'SetStorageClass') {
          if (rule.action.storageClass === 'ARCHIVE') {
            report(
              `bucket ${p.name} rule ${i}: no ARCHIVE class for table data (365-day minimum, retrieval fees on every read)`,
            );
          }
          if (
            prefixes.length === 0 ||
            prefixes.some((x) => !/(^|\/)(part-|[^/]+=)$/.test(x) || touchesDeltaLog(x))
          ) {
            report(`bucket ${p.name} rule ${i}: storage-class changes must be limited to data-file prefixes`);
          }
        }
        const deletesLive =
          rule.action?.type === 'Delete' &&
          c.withState !== 'ARCHIVED' &&
          c.daysSinceNoncurrentTime === undefined;
        if (deletesLive && !scratch) {
          report(`bucket ${p.name} rule ${i}: deleting live objects is allowed only in the scratch zone`);
        }
        if (prefixes.some(touchesDeltaLog) || (c.matchesSuffixes ?? []).some(touchesDeltaLog)) {
          report(`bucket ${p.name} rule ${i}: never match _delta_log/`);
        }
      }
    },
  },
);

export const recoverableDeletes = policy(
  'lakehouse-recoverable-deletes',
  'Deleted files stay recoverable for a while: GCS versioning on, Azure blob and filesystem soft delete on.',
  {
    [TYPES.bucket]: (p, report) => {
      if (p.versioning?.enabled !== true) report(`bucket ${p.name}: turn versioning on`);
    },
    [TYPES.blobService]: (p, report) => {
      if (p.deleteRetentionPolicy?.enabled !== true)
        report('blob service: turn deleteRetentionPolicy (soft delete) on');
      if (p.containerDeleteRetentionPolicy?.enabled !== true) {
        report('blob service: turn containerDeleteRetentionPolicy (filesystem soft delete) on');
      }
    },
  },
);

export const storageFirewall = policy(
  'lakehouse-storage-firewall',
  'Storage accounts deny network access by default and let in listed subnets and IP ranges.',
  {
    [TYPES.storageAccount]: (p, report) => {
      if (p.networkRuleSet?.defaultAction !== 'Deny')
        report('storage account: set networkRuleSet.defaultAction to Deny');
    },
  },
  'advisory',
);

/** Every rule of the pack, in the order reports list them. */
export const LAKEHOUSE_POLICIES: readonly ResourceValidationPolicy[] = [
  encryptionAtRest,
  noPublicAccess,
  tlsInTransit,
  identityOnlyAuth,
  leastPrivilege,
  deltaSafeLifecycle,
  recoverableDeletes,
  storageFirewall,
];
