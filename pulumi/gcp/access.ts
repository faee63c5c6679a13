import * as pulumi from '@pulumi/pulumi';
import * as serviceaccount from '@pulumi/gcp/serviceaccount/index.js';
import * as storage from '@pulumi/gcp/storage/index.js';
import { PULUMI_LAKEHOUSE_DEFAULTS, type LakehouseZone } from '../defaults.js';
import {
  roleZones,
  type LakehouseRole,
  type LakehouseRoleOptions,
  type OperatorIdentityOptions,
} from '../access-defaults.js';
import { serviceAccountId } from '../naming.js';
import type { LakehouseStorage } from './storage.js';

/** Read objects and list them. */
export const GCS_READ_ROLE = 'roles/storage.objectViewer';
/** Create, read, list, overwrite and delete objects; no IAM, no bucket settings. */
export const GCS_WRITE_ROLE = 'roles/storage.objectUser';

/** How the operator, running in GKE, acts as the operator service account. */
export interface GcpOperatorIdentityOptions extends LakehouseRoleOptions, OperatorIdentityOptions {
  /**
   * GKE workload identity: the operator's Kubernetes service account may impersonate the
   * operator service account. `workloadPool` is the cluster project's pool,
   * `<cluster project>.svc.id.goog` (IAM refuses a pool no cluster has created yet, so it is not
   * assumed).
   * @default - no binding
   */
  readonly gkeWorkloadIdentity?: { readonly workloadPool?: string };
}

/** Options of {@link LakehouseAccess} on GCP: the CDK construct's options, for service accounts. */
export interface LakehouseAccessArgs {
  readonly project: string;
  readonly storage: LakehouseStorage;
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.namePrefix */
  readonly namePrefix?: string;
  /** The reader: `storage.objectViewer`. `false`: none. @default ACCESS_DEFAULTS.readerZones */
  readonly reader?: LakehouseRoleOptions | false;
  /** The writer: `storage.objectUser`. `false`: none. @default ACCESS_DEFAULTS.writerZones */
  readonly writer?: LakehouseRoleOptions | false;
  /** The operator: `storage.objectUser` (VACUUM deletes). Always created. @default every zone */
  readonly operator?: GcpOperatorIdentityOptions;
}

/** A service account and the buckets it reaches. */
export interface GcpLakehouseIdentity {
  readonly account: serviceaccount.Account;
  /** For `iam.gke.io/gcp-service-account` on a Kubernetes service account. */
  readonly email: pulumi.Output<string>;
  readonly zones: readonly LakehouseZone[];
  readonly role: string;
}

/**
 * Service accounts for readers, writers and the maintenance operator, with IAM granted on the
 * zone buckets they need and nowhere else (no project-level role): readers get
 * `storage.objectViewer`, writers and the operator `storage.objectUser` (the operator deletes
 * files when it vacuums). The operator's Kubernetes service account impersonates its service
 * account through GKE workload identity.
 */
export class LakehouseAccess extends pulumi.ComponentResource {
  /** The service accounts created: always the operator, the reader and writer unless turned off. */
  readonly identities: Readonly<Partial<Record<LakehouseRole, GcpLakehouseIdentity>>> & {
    readonly operator: GcpLakehouseIdentity;
  };
  readonly workloadIdentityBinding?: serviceaccount.IAMMember;

  constructor(name: string, args: LakehouseAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super('lakehouse:gcp:LakehouseAccess', name, {}, opts);
    const namePrefix = args.namePrefix ?? PULUMI_LAKEHOUSE_DEFAULTS.namePrefix;
    const child: pulumi.CustomResourceOptions = { parent: this };
    const zones = [...args.storage.buckets.keys()];
    const plan: [LakehouseRole, LakehouseRoleOptions | false | undefined, string][] = [
      ['reader', args.reader, GCS_READ_ROLE],
      ['writer', args.writer, GCS_WRITE_ROLE],
      ['operator', args.operator, GCS_WRITE_ROLE],
    ];

    const identities: Partial<Record<LakehouseRole, GcpLakehouseIdentity>> = {};
    for (const [roleName, options, role] of plan) {
      if (options === false) continue;
      const grantZones = roleZones(roleName, options?.zones, zones);
      const account = new serviceaccount.Account(
        `${name}-${roleName}`,
        {
          project: args.project,
          accountId: serviceAccountId(namePrefix, roleName),
          displayName: `lakehouse ${roleName} (${namePrefix})`,
          description: `${role} on the ${grantZones.join(', ')} bucket(s)`,
        },
        child,
      );
      for (const zone of grantZones) {
        new storage.BucketIAMMember(
          `${name}-${roleName}-${zone}`,
          {
            bucket: args.storage.buckets.get(zone)!.name,
            role,
            member: account.member,
          },
          child,
        );
      }
      identities[roleName] = { account, email: account.email, zones: grantZones, role };
    }
    const operator = identities.operator!;
    this.identities = { ...identities, operator };

    const gke = args.operator?.gkeWorkloadIdentity;
    if (gke !== undefined) {
      const namespace = args.operator?.namespace ?? PULUMI_LAKEHOUSE_DEFAULTS.kubernetesNamespace;
      const ksa = args.operator?.serviceAccount ?? PULUMI_LAKEHOUSE_DEFAULTS.kubernetesServiceAccount;
      const pool = gke.workloadPool ?? `${args.project}.svc.id.goog`;
      this.workloadIdentityBinding = new serviceaccount.IAMMember(
        `${name}-operator-gke`,
        {
          serviceAccountId: operator.account.name,
          role: 'roles/iam.workloadIdentityUser',
          member: `serviceAccount:${pool}[${namespace}/${ksa}]`,
        },
        child,
      );
    }
    this.registerOutputs({ operatorEmail: operator.email });
  }
}
