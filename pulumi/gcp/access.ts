import * as pulumi from '@pulumi/pulumi';
import * as serviceaccount from '@pulumi/gcp/serviceaccount/index.js';
import * as storage from '@pulumi/gcp/storage/index.js';
import { PULUMI_LAKEHOUSE_DEFAULTS, type LakehouseZone } from '../defaults.js';
import { ACCESS_DEFAULTS, type KubernetesWorkload, type LakehouseRole } from '../access-defaults.js';
import { serviceAccountId } from '../naming.js';
import type { LakehouseStorage } from './storage.js';

/** Read objects and list them. */
export const GCS_READ_ROLE = 'roles/storage.objectViewer';
/** Create, read, list, overwrite and delete objects; no IAM, no bucket settings. */
export const GCS_WRITE_ROLE = 'roles/storage.objectUser';

/** Options of {@link LakehouseAccess} on GCP. */
export interface LakehouseAccessArgs {
  readonly project: string;
  readonly storage: LakehouseStorage;
  /** @default PULUMI_LAKEHOUSE_DEFAULTS.namePrefix */
  readonly namePrefix?: string;
  /** @default ACCESS_DEFAULTS.readerZones */
  readonly readerZones?: readonly LakehouseZone[];
  /** @default ACCESS_DEFAULTS.writerZones */
  readonly writerZones?: readonly LakehouseZone[];
  /**
   * The operator's Kubernetes service account: it may impersonate the operator service account
   * (GKE workload identity, pool `<project>.svc.id.goog`).
   * @default - no binding
   */
  readonly operatorWorkload?: KubernetesWorkload;
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
  readonly identities: Readonly<Record<LakehouseRole, GcpLakehouseIdentity>>;
  readonly workloadIdentityBinding?: serviceaccount.IAMMember;

  constructor(name: string, args: LakehouseAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super('lakehouse:gcp:LakehouseAccess', name, {}, opts);
    const namePrefix = args.namePrefix ?? PULUMI_LAKEHOUSE_DEFAULTS.namePrefix;
    const child: pulumi.CustomResourceOptions = { parent: this };
    const zones = [...args.storage.buckets.keys()];
    const within = (wanted: readonly LakehouseZone[]) => wanted.filter((z) => zones.includes(z));
    const plan: Record<LakehouseRole, { zones: readonly LakehouseZone[]; role: string }> = {
      reader: { zones: within(args.readerZones ?? ACCESS_DEFAULTS.readerZones), role: GCS_READ_ROLE },
      writer: { zones: within(args.writerZones ?? ACCESS_DEFAULTS.writerZones), role: GCS_WRITE_ROLE },
      operator: { zones, role: GCS_WRITE_ROLE },
    };

    const identities = {} as Record<LakehouseRole, GcpLakehouseIdentity>;
    for (const roleName of Object.keys(plan) as LakehouseRole[]) {
      const { zones: roleZones, role } = plan[roleName];
      const account = new serviceaccount.Account(
        `${name}-${roleName}`,
        {
          project: args.project,
          accountId: serviceAccountId(namePrefix, roleName),
          displayName: `lakehouse ${roleName} (${namePrefix})`,
          description: `${role} on the ${roleZones.join(', ')} bucket(s)`,
        },
        child,
      );
      for (const zone of roleZones) {
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
      identities[roleName] = { account, email: account.email, zones: roleZones, role };
    }
    this.identities = identities;

    const workload = args.operatorWorkload;
    if (workload !== undefined) {
      const namespace = workload.namespace ?? PULUMI_LAKEHOUSE_DEFAULTS.kubernetesNamespace;
      const ksa = workload.serviceAccount ?? PULUMI_LAKEHOUSE_DEFAULTS.kubernetesServiceAccount;
      this.workloadIdentityBinding = new serviceaccount.IAMMember(
        `${name}-operator-gke`,
        {
          serviceAccountId: identities.operator.account.name,
          role: 'roles/iam.workloadIdentityUser',
          member: `serviceAccount:${args.project}.svc.id.goog[${namespace}/${ksa}]`,
        },
        child,
      );
    }
    this.registerOutputs({ operatorEmail: identities.operator.email });
  }
}
