import * as pulumi from '@pulumi/pulumi';
import * as managedidentity from '@pulumi/azure-native/managedidentity/index.js';
import { LakehouseError } from '../../lib/errors.js';
import { PULUMI_LAKEHOUSE_DEFAULTS, type LakehouseZone } from '../defaults.js';
import { ACCESS_DEFAULTS, type KubernetesWorkload, type LakehouseRole } from '../access-defaults.js';
import type { LakehouseStorage } from './storage.js';
import { assignRole, type AzureBuiltinRole } from './roles.js';

/** The audience AKS workload identity tokens carry for Entra ID. */
export const AKS_TOKEN_AUDIENCE = 'api://AzureADTokenExchange';

/** Options of {@link LakehouseAccess} on Azure. */
export interface LakehouseAccessArgs {
  readonly resourceGroupName: pulumi.Input<string>;
  readonly location?: pulumi.Input<string>;
  readonly subscriptionId: pulumi.Input<string>;
  readonly storage: LakehouseStorage;
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.namePrefix */
  readonly namePrefix?: string;
  /** Zones the readers may read. @default ACCESS_DEFAULTS.readerZones */
  readonly readerZones?: readonly LakehouseZone[];
  /** Zones the writers may write. @default ACCESS_DEFAULTS.writerZones */
  readonly writerZones?: readonly LakehouseZone[];
  /**
   * The operator's Kubernetes identity: a federated identity credential lets the pods of this
   * service account sign in as the operator identity (AKS workload identity).
   * @default - no federated credential
   */
  readonly operatorWorkload?: KubernetesWorkload;
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
  readonly identities: Readonly<Record<LakehouseRole, AzureLakehouseIdentity>>;
  readonly federatedCredential?: managedidentity.FederatedIdentityCredential;

  constructor(name: string, args: LakehouseAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super('lakehouse:azure:LakehouseAccess', name, {}, opts);
    const namePrefix = args.namePrefix ?? PULUMI_LAKEHOUSE_DEFAULTS.namePrefix;
    const child: pulumi.CustomResourceOptions = { parent: this };
    const zones = [...args.storage.filesystems.keys()];
    const within = (wanted: readonly LakehouseZone[]) => wanted.filter((z) => zones.includes(z));

    const plan: Record<LakehouseRole, { zones: readonly LakehouseZone[]; role: AzureBuiltinRole }> = {
      reader: {
        zones: within(args.readerZones ?? ACCESS_DEFAULTS.readerZones),
        role: 'Storage Blob Data Reader',
      },
      writer: {
        zones: within(args.writerZones ?? ACCESS_DEFAULTS.writerZones),
        role: 'Storage Blob Data Contributor',
      },
      operator: { zones, role: 'Storage Blob Data Contributor' },
    };

    const identities = {} as Record<LakehouseRole, AzureLakehouseIdentity>;
    for (const roleName of Object.keys(plan) as LakehouseRole[]) {
      const { zones: roleZones, role } = plan[roleName];
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
      for (const zone of roleZones) {
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
        zones: roleZones,
        role,
      };
    }
    this.identities = identities;

    const workload = args.operatorWorkload;
    if (workload !== undefined) {
      if (workload.oidcIssuerUrl === undefined) {
        throw new LakehouseError(
          'INVALID_ARGUMENT',
          'kubernetes.oidcIssuerUrl is missing: AKS workload identity needs the cluster OIDC issuer ' +
            '(az aks show -g <group> -n <cluster> --query oidcIssuerProfile.issuerUrl -o tsv)',
        );
      }
      this.federatedCredential = new managedidentity.FederatedIdentityCredential(
        `${name}-operator-aks`,
        {
          resourceGroupName: args.resourceGroupName,
          resourceName: identities.operator.identity.name,
          federatedIdentityCredentialResourceName: 'aks-workload-identity',
          issuer: workload.oidcIssuerUrl,
          subject: serviceAccountSubject(workload),
          audiences: [AKS_TOKEN_AUDIENCE],
        },
        child,
      );
    }

    this.registerOutputs({ operatorClientId: identities.operator.clientId });
  }
}

/** `system:serviceaccount:<namespace>:<name>`, the subject of a Kubernetes service account token. */
export function serviceAccountSubject(workload: KubernetesWorkload): string {
  const namespace = workload.namespace ?? PULUMI_LAKEHOUSE_DEFAULTS.kubernetesNamespace;
  const serviceAccount = workload.serviceAccount ?? PULUMI_LAKEHOUSE_DEFAULTS.kubernetesServiceAccount;
  return `system:serviceaccount:${namespace}:${serviceAccount}`;
}
