import type * as iam from 'aws-cdk-lib/aws-iam';
import type { LakehouseZone } from '../defaults.js';
import type { LakehouseCatalog } from '../catalog/lakehouse-catalog.js';
import type { LakehouseStorage } from '../storage/lakehouse-storage.js';

/** One zone a role may use, optionally narrowed to key prefixes inside the zone's bucket. */
export interface ZoneGrant {
  readonly zone: LakehouseZone;
  /**
   * Key prefixes (`sales/`, `features/orders/`) the role is limited to; a prefix without a
   * trailing `/` is taken as a folder.
   * @default - the whole bucket of the zone
   */
  readonly prefixes?: readonly string[];
}

/** A role of {@link LakehouseAccess}: which zones it reaches and who may assume it. */
export interface LakehouseRoleOptions {
  /**
   * Zones (a name means the whole bucket; a {@link ZoneGrant} narrows to prefixes). Each must be
   * a zone of the storage.
   * @default LAKEHOUSE_DEFAULTS.access.<role>.zones, those the storage creates
   */
  readonly zones?: readonly (LakehouseZone | ZoneGrant)[];
  /**
   * Who may assume the role.
   * @default - IAM identities of this account whose own policies allow sts:AssumeRole on it
   */
  readonly assumedBy?: iam.IPrincipal;
  /**
   * The role name.
   * @default `<namePrefix>-<reader|writer|operator>`
   */
  readonly roleName?: string;
}

/** IAM roles for service accounts: the cluster's OIDC issuer trusted for one service account. */
export interface IrsaOptions {
  /** The cluster's OIDC issuer URL (`https://oidc.eks.<region>.amazonaws.com/id/<ID>`). */
  readonly oidcIssuerUrl: string;
  /**
   * ARN of the IAM OIDC provider already registered for this issuer (one per account and issuer).
   * @default - an IAM OIDC provider for `oidcIssuerUrl` is created in this stack
   */
  readonly oidcProviderArn?: string;
}

/** EKS Pod Identity: the role is associated with the service account on one cluster. */
export interface PodIdentityOptions {
  /** The EKS cluster name. */
  readonly clusterName: string;
}

/** How the maintenance operator running in EKS gets the operator role. */
export interface OperatorIdentityOptions {
  /**
   * The operator's namespace.
   * @default LAKEHOUSE_DEFAULTS.access.operatorNamespace
   */
  readonly namespace?: string;
  /**
   * The operator's service account.
   * @default LAKEHOUSE_DEFAULTS.access.operatorServiceAccount
   */
  readonly serviceAccount?: string;
  /** Trust the cluster's OIDC provider (IRSA). @default - no IRSA trust */
  readonly irsa?: IrsaOptions;
  /** Associate the role through EKS Pod Identity. @default - no Pod Identity association */
  readonly podIdentity?: PodIdentityOptions;
}

/** Options of {@link LakehouseAccess}. */
export interface LakehouseAccessProps {
  /** The zones the roles reach. */
  readonly storage: LakehouseStorage;
  /**
   * The catalog whose databases the roles may read (and the operator update); in Lake Formation
   * mode the grants are Lake Formation permissions.
   * @default - no catalog permissions
   */
  readonly catalog?: LakehouseCatalog;
  /** The reader role: get and list objects, decrypt. `false`: no reader role. @default LAKEHOUSE_DEFAULTS.access.reader */
  readonly reader?: LakehouseRoleOptions | false;
  /** The writer role: reader + put objects and multipart uploads, no deletes. `false`: none. @default LAKEHOUSE_DEFAULTS.access.writer */
  readonly writer?: LakehouseRoleOptions | false;
  /**
   * The maintenance operator role: writer + delete objects (vacuum, log clean-up) + update
   * catalog tables. Always created.
   * @default LAKEHOUSE_DEFAULTS.access.operator
   */
  readonly operator?: LakehouseRoleOptions & OperatorIdentityOptions;
}
