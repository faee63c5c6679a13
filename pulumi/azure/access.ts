import * as pulumi from '@pulumi/pulumi';
import * as managedidentity from '@pulumi/azure-native/managedidentity/index.js';
import { PULUMI_LAKEHOUSE_DEFAULTS, type LakehouseZone } from '../defaults.js';
import {
  roleZones,
  type LakehouseRole,
  type LakehouseRoleOptions,
  type OperatorIdentityOptions,
} from '../access-defaults.js';
import type { LakehouseStorage } from './storage.js';
import { assignRole, type AzureBuiltinRole } from './roles.js';

/** The audience AKS workload identity tokens carry for Entra ID. */
export const AKS_TOKEN_AUDIENCE = 'api://AzureADTokenExchange';

/** How the operator, running in AKS, signs in as the operator identity. */
export interface AzureOperatorIdentityOptions extends LakehouseRoleOptions, OperatorIdentityOptions {
  /**
   * The AKS cluster's OIDC issuer URL (`az aks show --query oidcIssuerProfile.issuerUrl`): a
   * federated identity credential lets the pods of the operator's service account sign in as
   * the operator identity (AKS workload identity).
   * @default - no federated credential
   */
  readonly oidcIssuerUrl?: string;
}

/** Options of {@link LakehouseAccess} on Azure: the CDK construct's options, for managed identities. */
export interface LakehouseAccessArgs {
  readonly resourceGroupName: pulumi.Input<string>;
  readonly location?: pulumi.Input<string>;
  readonly subscriptionId: pulumi.Input<string>;
  readonly storage: LakehouseStorage;
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.namePrefix */
  readonly namePrefix?: string;
  /** The reader identity: Storage Blob Data Reader. `false`: none. @default ACCESS_DEFAULTS.readerZones */
  readonly reader?: LakehouseRoleOptions | false;
  /** The writer identity: Storage Blob Data Contributor. `false`: none. @default ACCESS_DEFAULTS.writerZones */
  readonly writer?: LakehouseRoleOptions | false;
  /** The operator identity: Storage Blob Data Contributor (VACUUM deletes). Always created. @default every zone */
  readonly operator?: AzureOperatorIdentityOptions;
}

/** A user-assigned managed identity and what a workload needs to use it. */
export interface AzureLakehouseIdentity {
  readonly identity: managedidentity.UserAssignedIdentity;
  /** For `azure.workload.identity/client-id` on a Kubernetes service account. */
  readonly clientId: pulumi.Output<string>;
  readonly principalId: pulumi.Output<string>;
  readonly zones: readonly LakehouseZone[];
  readonly role: AzureBuiltinRole;
}

/**
 * Identities for readers, writers and the maintenance operator, each a user-assigned managed
 * identity with a built-in data role scoped to exactly the filesystems it needs (never the
 * account, never the subscription): readers get Storage Blob Data Reader, writers and the
 * operator Storage Blob Data Contributor (the operator deletes files when it vacuums). The
 * operator signs in from AKS through a federated identity credential.
 */
export class LakehouseAccess extends pulumi.ComponentResource {
  /** The identities created: always the operator, the reader and writer unless turned off. */
  readonly identities: Readonly<Partial<Record<LakehouseRole, AzureLakehouseIdentity>>> & {
    readonly operator: AzureLakehouseIdentity;
  };
  readonly federatedCredential?: managedidentity.FederatedIdentityCredential;

  constructor(name: string, args: LakehouseAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super('lakehouse:azure:LakehouseAccess', name, {}, opts);
    const namePrefix = args.namePrefix ?? PULUMI_LAKEHOUSE_DEFAULTS.namePrefix;
    const child: pulumi.CustomResourceOptions = { parent: this };
    const zones = [...args.storage.filesystems.keys()];

    const plan: [LakehouseRole, LakehouseRoleOptions | false | undefined, AzureBuiltinRole][] = [
      ['reader', args.reader, 'Storage Blob Data Reader'],
      ['writer', args.writer, 'Storage Blob Data Contributor'],
      ['operator', args.operator, 'Storage Blob Data Contributor'],
    ];
    const identities: Partial<Record<LakehouseRole, AzureLakehouseIdentity>> = {};
    for (const [roleName, options, role] of plan) {
      if (options === false) continue;
      const grantZones = roleZones(roleName, options?.zones, zones);
      const identity = new managedidentity.UserAssignedIdentity(
        `${name}-${roleName}`,
        {
          resourceGroupName: args.resourceGroupName,
          location: args.location,
          resourceName: `${namePrefix}-${roleName}`,
          tags: { lakehouse_role: roleName },
        },
        child,
      );
      for (const zone of grantZones) {
        assignRole(
          `${name}-${roleName}-${zone}`,
          {
            scope: args.storage.filesystems.get(zone)!.id,
            principalId: identity.principalId,
            role,
            subscriptionId: args.subscriptionId,
            description: `lakehouse ${roleName}: ${role} on the ${zone} filesystem`,
          },
          child,
        );
      }
      identities[roleName] = {
        identity,
        clientId: identity.clientId,
        principalId: identity.principalId,
        zones: grantZones,
        role,
      };
    }
    const operator = identities.operator!;
    this.identities = { ...identities, operator };

    const issuer = args.operator?.oidcIssuerUrl;
    if (issuer !== undefined) {
      this.federatedCredential = new managedidentity.FederatedIdentityCredential(
        `${name}-operator-aks`,
        {
          resourceGroupName: args.resourceGroupName,
          resourceName: operator.identity.name,
          federatedIdentityCredentialResourceName: 'aks-workload-identity',
          issuer,
          subject: serviceAccountSubject(args.operator ?? {}),
          audiences: [AKS_TOKEN_AUDIENCE],
        },
        child,
      );
    }

    this.registerOutputs({ operatorClientId: operator.clientId });
  }
}

/** `system:serviceaccount:<namespace>:<name>`, the subject of a Kubernetes service account token. */
export function serviceAccountSubject(workload: OperatorIdentityOptions): string {
  const namespace = workload.namespace ?? PULUMI_LAKEHOUSE_DEFAULTS.kubernetesNamespace;
  const serviceAccount = workload.serviceAccount ?? PULUMI_LAKEHOUSE_DEFAULTS.kubernetesServiceAccount;
  return `system:serviceaccount:${namespace}:${serviceAccount}`;
}
