import * as pulumi from '@pulumi/pulumi';
import * as authorization from '@pulumi/azure-native/authorization/index.js';
import { deterministicGuid } from '../naming.js';

/** The Azure built-in roles the lakehouse grants, by their fixed role definition GUIDs. */
export const AZURE_BUILTIN_ROLES = {
  /** Read and list blobs and filesystems. */
  'Storage Blob Data Reader': '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
  /** Read, write and delete blobs (no role assignments, no account keys). */
  'Storage Blob Data Contributor': 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  /** Wrap and unwrap with a Key Vault key: what a storage account needs for its customer-managed key. */
  'Key Vault Crypto Service Encryption User': 'e147488a-f6f5-4113-8e2d-b22465e65bf6',
} as const;
export type AzureBuiltinRole = keyof typeof AZURE_BUILTIN_ROLES;

/** Which role a role assignment grants, to whom, where. */
export interface RoleGrant {
  readonly scope: pulumi.Input<string>;
  readonly principalId: pulumi.Input<string>;
  readonly role: AzureBuiltinRole;
  readonly subscriptionId: pulumi.Input<string>;
  readonly description: string;
}

/**
 * A role assignment for a managed identity. `principalType: ServicePrincipal` makes Azure accept
 * a just-created identity before Entra ID has replicated it (no "principal not found" retries);
 * the name is a GUID derived from scope, principal and role, so re-running never duplicates it.
 */
export function assignRole(
  name: string,
  grant: RoleGrant,
  opts: pulumi.CustomResourceOptions,
): authorization.RoleAssignment {
  const roleGuid = AZURE_BUILTIN_ROLES[grant.role];
  return new authorization.RoleAssignment(
    name,
    {
      scope: grant.scope,
      principalId: grant.principalId,
      principalType: 'ServicePrincipal',
      roleDefinitionId: pulumi.interpolate`/subscriptions/${grant.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${roleGuid}`,
      roleAssignmentName: pulumi
        .all([grant.scope, grant.principalId])
        .apply(([scope, principal]) => deterministicGuid(scope, principal, roleGuid)),
      description: grant.description,
    },
    opts,
  );
}
