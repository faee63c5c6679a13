import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { LakehouseError } from '../../lib/errors.js';
import type { LakeTable } from '../../lib/spec/index.js';
import { LakehouseAccess } from '../access/lakehouse-access.js';
import type { OperatorIdentityOptions } from '../access/lakehouse-access-props.js';
import { LakehouseCatalog } from '../catalog/lakehouse-catalog.js';
import { LAKEHOUSE_DEFAULTS } from '../defaults.js';
import { LakehouseStorage } from '../storage/lakehouse-storage.js';
import { APP_DEFAULTS, type AppConfig } from './config.js';

/** Options of {@link LakehouseStack}. */
export interface LakehouseStackProps extends StackProps {
  /** The validated app configuration. */
  readonly config: AppConfig;
  /** The LakeTable documents to register (loaded from `config.tablesDir`). */
  readonly tables: readonly LakeTable[];
}

/**
 * One lakehouse environment: {@link LakehouseStorage}, {@link LakehouseCatalog} and
 * {@link LakehouseAccess}, with the outputs the operator's Helm values or kustomize overlay need
 * (bucket names, zone URIs, role ARNs, region, Glue databases, the service account).
 */
export class LakehouseStack extends Stack {
  readonly storage: LakehouseStorage;
  readonly catalog: LakehouseCatalog;
  readonly access: LakehouseAccess;

  constructor(scope: Construct, id: string, props: LakehouseStackProps) {
    super(scope, id, props);
    const c = props.config;
    const env = c.env ?? APP_DEFAULTS.env;
    const removalPolicy = c.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    this.storage = new LakehouseStorage(this, 'Storage', {
      namePrefix: c.namePrefix ?? `${LAKEHOUSE_DEFAULTS.namePrefix}-${env}`,
      ...(c.zones ? { zones: c.zones } : {}),
      ...(c.lifecycle ? { lifecycle: c.lifecycle } : {}),
      tables: props.tables,
      ...(c.accessLogs ? { accessLogs: c.accessLogs } : {}),
      removalPolicy,
    });
    this.catalog = new LakehouseCatalog(this, 'Catalog', {
      storage: this.storage,
      tables: props.tables,
      ...(c.lakeFormation !== undefined ? { lakeFormation: c.lakeFormation } : {}),
      removalPolicy,
    });
    const operator: OperatorIdentityOptions & { zones?: NonNullable<AppConfig['operator']>['zones'] } = {
      ...(c.operator ?? {}),
      ...eksIdentity(c),
    };
    this.access = new LakehouseAccess(this, 'Access', {
      storage: this.storage,
      catalog: this.catalog,
      ...(c.reader !== undefined ? { reader: c.reader } : {}),
      ...(c.writer !== undefined ? { writer: c.writer } : {}),
      operator,
    });

    const out = (id: string, value: string, description: string): void => {
      new CfnOutput(this, id, { value, description });
    };
    out('Region', this.region, 'AWS region of the lakehouse');
    for (const zone of this.storage.zones) {
      const t = zone.charAt(0).toUpperCase() + zone.slice(1);
      out(`${t}BucketName`, this.storage.bucket(zone).bucketName, `S3 bucket of the ${zone} zone`);
      out(
        `${t}ZoneUri`,
        this.storage.zoneUri(zone),
        `Root URI of the ${zone} zone (storage roots of the operator)`,
      );
      out(`${t}GlueDatabase`, this.catalog.zoneDatabaseName(zone), `Glue database of the ${zone} zone`);
    }
    out(
      'OperatorRoleArn',
      this.access.operatorRole.roleArn,
      'IAM role of the operator (IRSA annotation / Pod Identity)',
    );
    if (this.access.readerRole) out('ReaderRoleArn', this.access.readerRole.roleArn, 'IAM role of readers');
    if (this.access.writerRole) out('WriterRoleArn', this.access.writerRole.roleArn, 'IAM role of writers');
    const subject = LakehouseAccess.operatorSubject(operator);
    out('OperatorNamespace', subject.namespace, 'Kubernetes namespace the operator role trusts');
    out(
      'OperatorServiceAccount',
      subject.serviceAccount,
      'Kubernetes service account the operator role trusts',
    );
  }
}

/** The operator's EKS identity options from the `eks` section. */
function eksIdentity(c: AppConfig): Pick<OperatorIdentityOptions, 'irsa' | 'podIdentity'> {
  const eks = c.eks;
  if (eks === undefined) return {};
  const identity =
    eks.identity ??
    (eks.oidcIssuerUrl && eks.clusterName ? 'both' : eks.oidcIssuerUrl ? 'irsa' : 'pod-identity');
  const out: {
    irsa?: OperatorIdentityOptions['irsa'];
    podIdentity?: OperatorIdentityOptions['podIdentity'];
  } = {};
  if (identity === 'irsa' || identity === 'both') {
    if (eks.oidcIssuerUrl === undefined) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `eks.identity ${identity} needs eks.oidcIssuerUrl (the cluster's OIDC issuer)`,
      );
    }
    out.irsa = {
      oidcIssuerUrl: eks.oidcIssuerUrl,
      ...(eks.oidcProviderArn !== undefined ? { oidcProviderArn: eks.oidcProviderArn } : {}),
    };
  }
  if (identity === 'pod-identity' || identity === 'both') {
    if (eks.clusterName === undefined) {
      throw new LakehouseError('INVALID_ARGUMENT', `eks.identity ${identity} needs eks.clusterName`);
    }
    out.podIdentity = { clusterName: eks.clusterName };
  }
  return out;
}
