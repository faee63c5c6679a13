import * as pulumi from '@pulumi/pulumi';
import * as storage from '@pulumi/azure-native/storage/index.js';
import * as managedidentity from '@pulumi/azure-native/managedidentity/index.js';
import {
  PULUMI_LAKEHOUSE_DEFAULTS,
  resolveLifecycle,
  type LakehouseZone,
  type ResolvedZoneLifecycle,
  type ZoneLifecycle,
} from '../defaults.js';
import { storageAccountName } from '../naming.js';
import { dataResourceOptions, resolveRemoval, type RemovalPolicy } from '../removal.js';
import type { CatalogTable } from '../tables.js';
import { managementPolicyRules } from './lifecycle.js';
import { assignRole } from './roles.js';

/** A customer-managed key in Key Vault for the storage account's encryption. */
export interface AzureCustomerManagedKey {
  /** ARM id of the Key Vault (role assignment scope). The vault must have purge protection on. */
  readonly keyVaultId: string;
  /** `https://<vault>.vault.azure.net/` */
  readonly keyVaultUri: string;
  readonly keyName: string;
  /** @default - none: the account follows the key's latest version (automatic rotation) */
  readonly keyVersion?: string;
}

/** Who may reach the storage endpoints over the network. */
export interface AzureStorageNetwork {
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.azure.networkDefaultAction ('Deny') */
  readonly defaultAction?: 'Allow' | 'Deny';
  /** Subnets (ARM ids, with the Microsoft.Storage service endpoint) let through, e.g. the AKS node subnet. */
  readonly allowedSubnetIds?: readonly string[];
  /** Public IP ranges (CIDR) let through, e.g. a CI runner. */
  readonly allowedIpRanges?: readonly string[];
}

/** Options of {@link LakehouseStorage} on Azure. */
export interface LakehouseStorageArgs {
  readonly resourceGroupName: pulumi.Input<string>;
  readonly location?: pulumi.Input<string>;
  /** Subscription of the resource group (for role definition ids when a CMK is used). */
  readonly subscriptionId: pulumi.Input<string>;
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.namePrefix */
  readonly namePrefix?: string;
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.zones: one filesystem per zone */
  readonly zones?: readonly LakehouseZone[];
  /** Per zone, merged field by field over the defaults. @default PULUMI_LAKEHOUSE_DEFAULTS.lifecycle */
  readonly lifecycle?: Partial<Record<LakehouseZone, ZoneLifecycle>>;
  /** The registered tables: their data-file prefixes are what lifecycle tiering may move. @default [] */
  readonly tables?: readonly CatalogTable[];
  /** @default storageAccountName(namePrefix, stack): the prefix without hyphens and a 6-character hash */
  readonly storageAccountName?: string;
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.azure.storageSku */
  readonly sku?: string;
  /**
   * Shared-key (account key and SAS) authorization. Off: every client must use Entra ID, and a
   * leaked key grants nothing. Turn on only for a tool that cannot use Entra ID.
   * @default false
   */
  readonly allowSharedKeyAccess?: boolean;
  /** @default - firewall `Deny` with no exceptions but trusted Azure services */
  readonly network?: AzureStorageNetwork;
  /** @default - Microsoft-managed keys (with infrastructure encryption either way) */
  readonly customerManagedKey?: AzureCustomerManagedKey;
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.azure.softDeleteRetentionDays */
  readonly softDeleteRetentionDays?: number;
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.azure.containerSoftDeleteRetentionDays */
  readonly containerSoftDeleteRetentionDays?: number;
  /**
   * `'destroy'` lets `pulumi destroy` delete the account and its filesystems, but ONLY when the
   * stack config `lakehouse:removeDataOnDestroy` is `true` too.
   * @default 'retain'
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * ADLS Gen2 storage for the lakehouse: one StorageV2 account with hierarchical namespace, one
 * filesystem per zone, Delta-safe lifecycle rules, soft delete. Always on: TLS 1.2, HTTPS only,
 * no anonymous blob access, infrastructure (double) encryption, Entra ID by default in the
 * portal, no cross-tenant replication. The account and filesystems keep their data on destroy
 * unless both removal keys say otherwise ({@link resolveRemoval}).
 */
export class LakehouseStorage extends pulumi.ComponentResource {
  readonly account: storage.StorageAccount;
  readonly accountName: pulumi.Output<string>;
  /** The filesystem (blob container) of each zone. */
  readonly filesystems: ReadonlyMap<LakehouseZone, storage.BlobContainer>;
  /** `abfss://<zone>@<account>.dfs.core.windows.net/` per zone: table roots for the LakeTable `storage`. */
  readonly zoneUris: ReadonlyMap<LakehouseZone, pulumi.Output<string>>;
  readonly dfsEndpoint: pulumi.Output<string>;
  readonly lifecycles: ReadonlyMap<LakehouseZone, ResolvedZoneLifecycle>;
  readonly managementPolicy?: storage.ManagementPolicy;

  constructor(name: string, args: LakehouseStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super('lakehouse:azure:LakehouseStorage', name, {}, opts);
    const d = PULUMI_LAKEHOUSE_DEFAULTS;
    const namePrefix = args.namePrefix ?? d.namePrefix;
    const zones = args.zones ?? d.zones;
    const removal = resolveRemoval(args.removalPolicy, this);
    const child: pulumi.CustomResourceOptions = { parent: this };
    this.lifecycles = new Map(zones.map((z) => [z, resolveLifecycle(z, args.lifecycle?.[z])]));

    const accountName = args.storageAccountName ?? storageAccountName(namePrefix, pulumi.getStack());
    const cmk = args.customerManagedKey;
    let cmkIdentity: managedidentity.UserAssignedIdentity | undefined;
    const accountDependsOn: pulumi.Resource[] = [];
    if (cmk !== undefined) {
      cmkIdentity = new managedidentity.UserAssignedIdentity(
        `${name}-cmk`,
        {
          resourceGroupName: args.resourceGroupName,
          location: args.location,
          resourceName: `${namePrefix}-storage-cmk`,
        },
        child,
      );
      accountDependsOn.push(
        assignRole(
          `${name}-cmk-key-user`,
          {
            scope: cmk.keyVaultId,
            principalId: cmkIdentity.principalId,
            role: 'Key Vault Crypto Service Encryption User',
            subscriptionId: args.subscriptionId,
            description: `${accountName}: wrap and unwrap its customer-managed key`,
          },
          child,
        ),
      );
    }

    const network = args.network;
    this.account = new storage.StorageAccount(
      name,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        accountName,
        kind: 'StorageV2',
        sku: { name: args.sku ?? d.azure.storageSku },
        accessTier: 'Hot',
        isHnsEnabled: true,
        minimumTlsVersion: 'TLS1_2',
        enableHttpsTrafficOnly: true,
        allowBlobPublicAccess: false,
        allowSharedKeyAccess: args.allowSharedKeyAccess ?? false,
        defaultToOAuthAuthentication: true,
        allowCrossTenantReplication: false,
        isLocalUserEnabled: false,
        isSftpEnabled: false,
        networkRuleSet: {
          defaultAction: network?.defaultAction ?? d.azure.networkDefaultAction,
          bypass: 'AzureServices',
          virtualNetworkRules: (network?.allowedSubnetIds ?? []).map((id) => ({
            virtualNetworkResourceId: id,
            action: 'Allow',
          })),
          ipRules: (network?.allowedIpRanges ?? []).map((value) => ({
            iPAddressOrRange: value,
            action: 'Allow',
          })),
        },
        ...(cmkIdentity !== undefined && {
          identity: { type: 'UserAssigned', userAssignedIdentities: [cmkIdentity.id] },
        }),
        encryption: {
          requireInfrastructureEncryption: true,
          services: {
            blob: { enabled: true, keyType: 'Account' },
            file: { enabled: true, keyType: 'Account' },
          },
          keySource: cmk === undefined ? 'Microsoft.Storage' : 'Microsoft.Keyvault',
          ...(cmk !== undefined &&
            cmkIdentity !== undefined && {
              keyVaultProperties: {
                keyVaultUri: cmk.keyVaultUri,
                keyName: cmk.keyName,
                ...(cmk.keyVersion !== undefined && { keyVersion: cmk.keyVersion }),
              },
              encryptionIdentity: { encryptionUserAssignedIdentity: cmkIdentity.id },
            }),
        },
      },
      dataResourceOptions(removal, { ...child, dependsOn: accountDependsOn }),
    );
    this.accountName = this.account.name;
    this.dfsEndpoint = pulumi.interpolate`https://${this.account.name}.dfs.core.windows.net/`;

    const blobService = new storage.BlobServiceProperties(
      `${name}-blob-service`,
      {
        resourceGroupName: args.resourceGroupName,
        accountName: this.account.name,
        blobServicesName: 'default',
        deleteRetentionPolicy: {
          enabled: true,
          days: args.softDeleteRetentionDays ?? d.azure.softDeleteRetentionDays,
        },
        containerDeleteRetentionPolicy: {
          enabled: true,
          days: args.containerSoftDeleteRetentionDays ?? d.azure.containerSoftDeleteRetentionDays,
        },
      },
      child,
    );

    const filesystems = new Map<LakehouseZone, storage.BlobContainer>();
    const zoneUris = new Map<LakehouseZone, pulumi.Output<string>>();
    for (const zone of zones) {
      filesystems.set(
        zone,
        new storage.BlobContainer(
          `${name}-${zone}`,
          {
            resourceGroupName: args.resourceGroupName,
            accountName: this.account.name,
            containerName: zone,
            publicAccess: 'None',
            metadata: { lakehouse_zone: zone },
          },
          dataResourceOptions(removal, { ...child, dependsOn: [blobService] }),
        ),
      );
      zoneUris.set(zone, pulumi.interpolate`abfss://${zone}@${this.account.name}.dfs.core.windows.net/`);
    }
    this.filesystems = filesystems;
    this.zoneUris = zoneUris;

    const rules = managementPolicyRules(this.lifecycles, args.tables ?? []);
    if (rules.length > 0) {
      this.managementPolicy = new storage.ManagementPolicy(
        `${name}-lifecycle`,
        {
          resourceGroupName: args.resourceGroupName,
          accountName: this.account.name,
          managementPolicyName: 'default',
          policy: { rules },
        },
        { ...child, dependsOn: [...filesystems.values()] },
      );
    }

    this.registerOutputs({ accountName: this.accountName, dfsEndpoint: this.dfsEndpoint });
  }
}
