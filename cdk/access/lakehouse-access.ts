import { Stack } from 'aws-cdk-lib';
import * as eks from 'aws-cdk-lib/aws-eks';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { LakehouseError } from '../../lib/errors.js';
import { acknowledgeNag } from '../compliance.js';
import { LAKEHOUSE_DEFAULTS, type LakehouseZone } from '../defaults.js';
import type { LakehouseStorage } from '../storage/lakehouse-storage.js';
import type {
  LakehouseAccessProps,
  LakehouseRoleOptions,
  OperatorIdentityOptions,
  ZoneGrant,
} from './lakehouse-access-props.js';

/** What a role may do: each level includes the one before. */
export type AccessLevel = 'read' | 'write' | 'maintain';

/** S3 actions on objects, per level. Writers never delete; only the operator (VACUUM) does. */
export const OBJECT_ACTIONS: Readonly<Record<AccessLevel, readonly string[]>> = {
  read: ['s3:GetObject', 's3:GetObjectVersion'],
  write: [
    's3:GetObject',
    's3:GetObjectVersion',
    's3:PutObject',
    's3:AbortMultipartUpload',
    's3:ListMultipartUploadParts',
  ],
  maintain: [
    's3:GetObject',
    's3:GetObjectVersion',
    's3:PutObject',
    's3:AbortMultipartUpload',
    's3:ListMultipartUploadParts',
    's3:DeleteObject',
  ],
};
/** S3 actions on the bucket itself, per level. */
export const BUCKET_ACTIONS: Readonly<Record<AccessLevel, readonly string[]>> = {
  read: ['s3:ListBucket', 's3:GetBucketLocation'],
  write: ['s3:ListBucket', 's3:GetBucketLocation', 's3:ListBucketMultipartUploads'],
  maintain: ['s3:ListBucket', 's3:GetBucketLocation', 's3:ListBucketMultipartUploads'],
};
/** KMS actions on the zone keys, per level, only through S3. */
export const KMS_ACTIONS: Readonly<Record<AccessLevel, readonly string[]>> = {
  read: ['kms:Decrypt'],
  write: ['kms:Decrypt', 'kms:GenerateDataKey'],
  maintain: ['kms:Decrypt', 'kms:GenerateDataKey'],
};

/**
 * Least-privilege IAM roles over a {@link LakehouseStorage}: a reader (get/list, decrypt), a
 * writer (reader + put and multipart uploads, no deletes) and the maintenance operator (writer +
 * delete for VACUUM and log clean-up, + catalog table updates). Each role reaches only its zones,
 * optionally only some key prefixes in them (object ARNs `<bucket>/<prefix>*`, listing limited by
 * `s3:prefix`), and may use only those zones' KMS keys, only through S3 (`kms:ViaService`).
 *
 * The operator role can be assumed from EKS through IRSA (the cluster's OIDC provider, limited to
 * the operator's service account and the `sts.amazonaws.com` audience) and/or EKS Pod Identity
 * (an association, trust limited by the session tags of namespace, service account and cluster).
 *
 * @example
 * new LakehouseAccess(stack, 'Access', {
 *   storage, catalog,
 *   reader: { zones: ['curated', { zone: 'models', prefixes: ['registry/'] }] },
 *   operator: { irsa: { oidcIssuerUrl: 'https://oidc.eks.eu-west-1.amazonaws.com/id/ABC' } },
 * });
 */
export class LakehouseAccess extends Construct {
  /** The reader role, unless `reader: false`. */
  readonly readerRole?: iam.Role;
  /** The writer role, unless `writer: false`. */
  readonly writerRole?: iam.Role;
  /** The maintenance operator role. */
  readonly operatorRole: iam.Role;
  /** The IAM OIDC provider created for IRSA, if one was created. */
  readonly oidcProvider?: iam.OidcProviderNative;
  /** The Pod Identity association, when `operator.podIdentity` was given. */
  readonly podIdentityAssociation?: eks.CfnPodIdentityAssociation;

  private readonly storage: LakehouseStorage;
  private readonly namePrefix: string;

  constructor(scope: Construct, id: string, props: LakehouseAccessProps) {
    super(scope, id);
    this.storage = props.storage;
    this.namePrefix = props.storage.namePrefix;
    const d = LAKEHOUSE_DEFAULTS.access;

    if (props.reader !== false) {
      this.readerRole = this.createRole(
        'Reader',
        'reader',
        'read',
        props.reader ?? {},
        d.reader.zones,
        props,
      );
    }
    if (props.writer !== false) {
      this.writerRole = this.createRole(
        'Writer',
        'writer',
        'write',
        props.writer ?? {},
        d.writer.zones,
        props,
      );
    }
    const op = props.operator ?? {};
    const trust = this.operatorTrust(op);
    this.operatorRole = this.createRole(
      'Operator',
      'operator',
      'maintain',
      { ...op, ...(trust ? { assumedBy: trust.principal } : {}) },
      d.operator.zones,
      props,
    );
    this.oidcProvider = trust?.provider;
    if (op.podIdentity !== undefined) {
      this.podIdentityAssociation = new eks.CfnPodIdentityAssociation(this, 'OperatorPodIdentity', {
        clusterName: op.podIdentity.clusterName,
        namespace: op.namespace ?? d.operatorNamespace,
        serviceAccount: op.serviceAccount ?? d.operatorServiceAccount,
        roleArn: this.operatorRole.roleArn,
      });
    }
  }

  /** The Kubernetes namespace and service account the operator role trusts. */
  static operatorSubject(op: OperatorIdentityOptions = {}): { namespace: string; serviceAccount: string } {
    return {
      namespace: op.namespace ?? LAKEHOUSE_DEFAULTS.access.operatorNamespace,
      serviceAccount: op.serviceAccount ?? LAKEHOUSE_DEFAULTS.access.operatorServiceAccount,
    };
  }

  private createRole(
    id: string,
    kind: string,
    level: AccessLevel,
    options: LakehouseRoleOptions,
    defaultZones: readonly LakehouseZone[],
    props: LakehouseAccessProps,
  ): iam.Role {
    const roleName = options.roleName ?? `${this.namePrefix}-${kind}`;
    if (roleName.length > 64) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `role name "${roleName}" has ${roleName.length} characters, more than IAM's 64: set ${kind}.roleName or shorten the name prefix`,
      );
    }
    const role = new iam.Role(this, `${id}Role`, {
      roleName,
      description: `lakehouse ${kind} of ${this.namePrefix}`,
      assumedBy: options.assumedBy ?? new iam.AccountRootPrincipal(),
    });
    // Default zones the storage does not create are left out; listed ones must exist.
    const grants = this.resolveGrants(
      kind,
      options.zones ?? defaultZones.filter((zone) => this.storage.hasZone(zone)),
    );
    for (const grant of grants) grantZone(role, this.storage, grant, level);
    props.catalog?.grantAccess(
      role,
      grants.map((g) => g.zone),
      level,
    );
    return role;
  }

  private resolveGrants(kind: string, zones: readonly (LakehouseZone | ZoneGrant)[]): ZoneGrant[] {
    const out: ZoneGrant[] = [];
    for (const entry of zones) {
      const grant: ZoneGrant = typeof entry === 'string' ? { zone: entry } : entry;
      if (!this.storage.hasZone(grant.zone)) {
        throw new LakehouseError(
          'INVALID_ARGUMENT',
          `${kind}: zone "${grant.zone}" is not created by the storage (zones: ${this.storage.zones.join(', ')})`,
        );
      }
      if (out.some((g) => g.zone === grant.zone)) {
        throw new LakehouseError(
          'INVALID_ARGUMENT',
          `${kind}: zone "${grant.zone}" is listed twice; merge its prefixes`,
        );
      }
      if (grant.prefixes !== undefined) {
        if (grant.prefixes.length === 0) {
          throw new LakehouseError(
            'INVALID_ARGUMENT',
            `${kind}: zone "${grant.zone}" has an empty prefix list; leave "prefixes" out for the whole bucket`,
          );
        }
        out.push({
          zone: grant.zone,
          prefixes: grant.prefixes.map((p) => normalisePrefix(kind, grant.zone, p)),
        });
      } else {
        out.push({ zone: grant.zone });
      }
    }
    return out;
  }

  /** The principal the operator role trusts when it runs in EKS (IRSA and/or Pod Identity). */
  private operatorTrust(
    op: LakehouseRoleOptions & OperatorIdentityOptions,
  ): { principal: iam.IPrincipal; provider?: iam.OidcProviderNative } | undefined {
    const { namespace, serviceAccount } = LakehouseAccess.operatorSubject(op);
    const principals: iam.IPrincipal[] = [];
    let provider: iam.OidcProviderNative | undefined;
    if (op.irsa !== undefined) {
      const url = op.irsa.oidcIssuerUrl;
      if (!/^https:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(url)) {
        throw new LakehouseError(
          'INVALID_ARGUMENT',
          `operator.irsa.oidcIssuerUrl "${url}" is not an https URL; use the cluster's issuer, e.g. ` +
            `https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE`,
        );
      }
      const issuer = url.replace(/^https:\/\//, '').replace(/\/+$/, '');
      let providerArn = op.irsa.oidcProviderArn;
      if (providerArn === undefined) {
        provider = new iam.OidcProviderNative(this, 'OidcProvider', {
          url: `https://${issuer}`,
          clientIds: ['sts.amazonaws.com'],
        });
        providerArn = provider.oidcProviderArn;
      }
      principals.push(
        new iam.WebIdentityPrincipal(providerArn, {
          StringEquals: {
            [`${issuer}:sub`]: `system:serviceaccount:${namespace}:${serviceAccount}`,
            [`${issuer}:aud`]: 'sts.amazonaws.com',
          },
        }),
      );
    }
    if (op.podIdentity !== undefined) {
      principals.push(
        new iam.SessionTagsPrincipal(
          new iam.ServicePrincipal('pods.eks.amazonaws.com', {
            conditions: {
              StringEquals: {
                'aws:RequestTag/eks-cluster-name': op.podIdentity.clusterName,
                'aws:RequestTag/kubernetes-namespace': namespace,
                'aws:RequestTag/kubernetes-service-account': serviceAccount,
              },
            },
          }),
        ),
      );
    }
    if (op.assumedBy !== undefined) principals.push(op.assumedBy);
    if (principals.length === 0) return undefined;
    return {
      principal: principals.length === 1 ? principals[0]! : new iam.CompositePrincipal(...principals),
      provider,
    };
  }
}

/**
 * Adds to `role` the S3 and KMS statements of one zone at one level: objects under the grant's
 * prefixes (or the whole bucket), listing limited to those prefixes, and the zone key through S3
 * only. The object ARN patterns are acknowledged for cdk-nag (AwsSolutions-IAM5) with the reason.
 */
export function grantZone(
  role: iam.Role,
  storage: LakehouseStorage,
  grant: ZoneGrant,
  level: AccessLevel,
): void {
  const bucket = storage.bucket(grant.zone);
  const key = storage.key(grant.zone);
  const stack = Stack.of(role);
  const objectPatterns = grant.prefixes?.map((p) => `${p}*`) ?? ['*'];
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: `${sidPart(grant.zone)}Objects`,
      actions: [...OBJECT_ACTIONS[level]],
      resources: objectPatterns.map((p) => bucket.arnForObjects(p)),
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: `${sidPart(grant.zone)}Bucket`,
      actions: [...BUCKET_ACTIONS[level]],
      resources: [bucket.bucketArn],
      ...(grant.prefixes ? { conditions: { StringLike: { 's3:prefix': objectPatterns } } } : {}),
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: `${sidPart(grant.zone)}Key`,
      actions: [...KMS_ACTIONS[level]],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } },
    }),
  );
  const bucketLogicalId = stack.resolve(
    stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket),
  ) as string;
  for (const pattern of objectPatterns) {
    acknowledgeNag(
      role,
      `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/${pattern}]`,
      `Objects of the ${grant.zone} zone${pattern === '*' ? '' : ` under "${pattern.slice(0, -1)}"`}: ` +
        `an object ARN pattern is how S3 grants a key prefix; the bucket and prefix are fixed.`,
    );
  }
}

function normalisePrefix(kind: string, zone: string, prefix: string): string {
  const p = prefix.replace(/^\/+/, '');
  if (p === '' || /[*?]/.test(p)) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `${kind}: prefix "${prefix}" in zone "${zone}" is not a key prefix; give a folder such as "sales/" (no wildcards)`,
    );
  }
  return p.endsWith('/') ? p : `${p}/`;
}

function sidPart(zone: string): string {
  return zone.charAt(0).toUpperCase() + zone.slice(1);
}
