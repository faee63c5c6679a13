/**
 * The synthesized templates of the lakehouse constructs, property by property: encryption,
 * versioning, Delta-safe lifecycle, public access, TLS-only policies, access logs, removal
 * policy (both keys of the guard), IAM per role, IRSA / Pod Identity trust, Glue tables.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { LakehouseStorage, resolveLifecycle } from '../../cdk/storage/lakehouse-storage.js';
import { LakehouseAccess } from '../../cdk/access/lakehouse-access.js';
import { LAKEHOUSE_DEFAULTS, LAKEHOUSE_ZONES } from '../../cdk/defaults.js';
import { bucketName } from '../../cdk/naming.js';
import { REMOVE_DATA_ON_DESTROY_CONTEXT, resolveRemovalPolicy } from '../../cdk/removal-policy.js';
import { parseAppConfig, readAppConfig, type AppConfig } from '../../cdk/app/config.js';
import { LakehouseStack } from '../../cdk/app/lakehouse-stack.js';
import { loadLakeTables, resolvedColumns, deltaTypeToHiveType } from '../../lib/spec/index.js';
import { isLakehouseError } from '../../lib/errors.js';
import {
  ACCOUNT,
  EXAMPLES,
  ISSUER_HOST,
  REGION,
  edgeApp,
  mainApp,
  removalApp,
  resourcesOf,
  removeTempDirs,
  tempDir,
} from './fixtures.js';

// Apps made without an outdir synthesize into a fresh os.tmpdir()/cdk.outXXXX each, left
// behind; CDK_OUTDIR points them all at one folder this file removes.
const savedOutdir = process.env.CDK_OUTDIR;
beforeAll(() => {
  process.env.CDK_OUTDIR = tempDir('synth');
});
afterAll(() => {
  if (savedOutdir === undefined) delete process.env.CDK_OUTDIR;
  else process.env.CDK_OUTDIR = savedOutdir;
  removeTempDirs();
});

const ZONE_BUCKETS = {
  raw: 'StorageRawBucketBBD9BDC5',
  curated: 'StorageCuratedBucket1413FA2D',
  models: 'StorageModelsBucket961E363F',
  scratch: 'StorageScratchBucket989C6451',
} as const;
const KEYS = {
  raw: 'StorageRawKey419B62FB',
  curated: 'StorageCuratedKey166FB69C',
  models: 'StorageModelsKey7300E12B',
  scratch: 'StorageScratchKey38C24BBC',
} as const;
const LOG_BUCKET = 'StorageAccessLogsBucketFEE4D6FB';

function expectThrowsCode(fn: () => unknown, code: string, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(isLakehouseError(caught)).toBe(true);
  expect((caught as { code: string }).code).toBe(code);
  expect((caught as Error).message).toMatch(message);
}

function freshStack(context: Record<string, unknown> = {}): Stack {
  return new Stack(new App({ context }), 'S', { env: { account: ACCOUNT, region: REGION } });
}

describe('LakehouseStorage', () => {
  test('one bucket per zone, with a deterministic name, its own rotating KMS key and S3 Bucket Keys', async () => {
    const { json, template } = await mainApp();
    for (const zone of LAKEHOUSE_ZONES) {
      const bucket = json.Resources[ZONE_BUCKETS[zone]]!;
      expect(bucket.Type).toBe('AWS::S3::Bucket');
      expect(bucket.Properties.BucketName).toBe(`lakehouse-test-${zone}-${ACCOUNT}-${REGION}`);
      expect(bucket.Properties.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [KEYS[zone], 'Arn'] },
            },
          },
        ],
      });
      expect(json.Resources[KEYS[zone]]!.Properties.EnableKeyRotation).toBe(true);
    }
    template.resourceCountIs('AWS::KMS::Key', 4);
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/lakehouse-test-curated' });
  });

  test('versioning, Block Public Access, bucket-owner-enforced ownership on every bucket', async () => {
    const s = await mainApp();
    const buckets = resourcesOf(s, 'AWS::S3::Bucket');
    expect(buckets).toHaveLength(5);
    for (const [, b] of buckets) {
      expect(b.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      expect(b.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(b.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
      expect(b.Properties.AccessControl).toBeUndefined();
    }
  });

  test('every bucket policy denies non-TLS requests and TLS below 1.2', async () => {
    const s = await mainApp();
    const policies = resourcesOf(s, 'AWS::S3::BucketPolicy');
    expect(policies).toHaveLength(5);
    for (const [, p] of policies) {
      const statements = p.Properties.PolicyDocument.Statement as any[];
      expect(statements).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          expect.objectContaining({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
          }),
        ]),
      );
    }
  });

  test('zone buckets log to the separate log bucket, which grants delivery per zone and uses SSE-S3', async () => {
    const s = await mainApp();
    for (const zone of LAKEHOUSE_ZONES) {
      expect(s.json.Resources[ZONE_BUCKETS[zone]]!.Properties.LoggingConfiguration).toEqual({
        DestinationBucketName: { Ref: LOG_BUCKET },
        LogFilePrefix: `${zone}/`,
        TargetObjectKeyFormat: { PartitionedPrefix: { PartitionDateSource: 'EventTime' } },
      });
    }
    const log = s.json.Resources[LOG_BUCKET]!;
    expect(log.Properties.BucketName).toBe(`lakehouse-test-access-logs-${ACCOUNT}-${REGION}`);
    expect(
      log.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault,
    ).toEqual({
      SSEAlgorithm: 'AES256',
    });
    expect(log.Properties.LoggingConfiguration).toBeUndefined();
    s.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: LOG_BUCKET },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AllowAccessLogDeliveryRaw',
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: 's3:PutObject',
            Condition: {
              ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [ZONE_BUCKETS.raw, 'Arn'] } },
              StringEquals: { 'aws:SourceAccount': ACCOUNT },
            },
          }),
        ]),
      },
    });
  });

  test('access logs can go to an existing bucket in another account, under a prefix', async () => {
    const s = await edgeApp();
    expect(resourcesOf(s, 'AWS::S3::Bucket')).toHaveLength(4);
    for (const [, b] of resourcesOf(s, 'AWS::S3::Bucket')) {
      expect(b.Properties.LoggingConfiguration.DestinationBucketName).toBe(
        'central-access-logs-999999999999',
      );
      expect(b.Properties.LoggingConfiguration.LogFilePrefix).toMatch(
        /^s3\/edge\/(raw|curated|models|scratch)\/$/,
      );
    }
  });

  test('the lifecycle: defaults per zone, noncurrent versions expire, multipart uploads are aborted', async () => {
    const s = await mainApp();
    const rules = (zone: keyof typeof ZONE_BUCKETS): any[] =>
      s.json.Resources[ZONE_BUCKETS[zone]]!.Properties.LifecycleConfiguration.Rules;
    for (const zone of LAKEHOUSE_ZONES) {
      const d = LAKEHOUSE_DEFAULTS.lifecycle[zone];
      expect(rules(zone)).toContainEqual({
        Id: 'abort-incomplete-multipart-uploads',
        Status: 'Enabled',
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: d.abortIncompleteMultipartUploadDays },
      });
      expect(rules(zone)).toContainEqual({
        Id: 'expire-noncurrent-versions',
        Status: 'Enabled',
        NoncurrentVersionExpiration: { NoncurrentDays: d.noncurrentVersionExpirationDays },
        ExpiredObjectDeleteMarker: true,
      });
    }
    expect(rules('scratch')).toContainEqual({
      Id: 'expire-scratch-objects',
      Status: 'Enabled',
      ExpirationInDays: 7,
    });
    for (const zone of ['raw', 'curated', 'models'] as const) {
      expect(rules(zone).some((r) => r.ExpirationInDays !== undefined)).toBe(false);
    }
  });

  test('Delta-safe transitions: only Intelligent-Tiering / Glacier IR, only under table data-file prefixes, 0 days kept', async () => {
    const s = await mainApp();
    const tiered = LAKEHOUSE_ZONES.flatMap((zone) =>
      (s.json.Resources[ZONE_BUCKETS[zone]]!.Properties.LifecycleConfiguration.Rules as any[])
        .filter((r) => r.Transitions)
        .map((r) => ({ zone, ...r })),
    );
    expect(tiered.map((r) => [r.zone, r.Id, r.Prefix])).toEqual([
      ['raw', 'tier-raw-order-fallouts', 'order_fallout/order_fallouts/event_date='],
      ['curated', 'tier-fallout-predictions', 'order_fallout/fallout_predictions/day='],
      ['curated', 'tier-order-features', 'order_fallout/order_features/day='],
      ['models', 'tier-model-registry', 'registry/model_versions/part-'],
    ]);
    for (const r of tiered) {
      expect(r.Prefix).not.toMatch(/_delta_log/);
      for (const t of r.Transitions) expect(['INTELLIGENT_TIERING', 'GLACIER_IR']).toContain(t.StorageClass);
    }
    // raw: Intelligent-Tiering at day 0 (an explicit 0 is not replaced by a default).
    expect(tiered[0].Transitions).toEqual([{ StorageClass: 'INTELLIGENT_TIERING', TransitionInDays: 0 }]);
    // curated: the configured Glacier Instant Retrieval step after the default Intelligent-Tiering.
    expect(tiered[1].Transitions).toEqual([
      { StorageClass: 'INTELLIGENT_TIERING', TransitionInDays: 0 },
      { StorageClass: 'GLACIER_IR', TransitionInDays: 180 },
    ]);
    expect(tiered[3].Transitions).toEqual([{ StorageClass: 'INTELLIGENT_TIERING', TransitionInDays: 30 }]);
    // No archive tier anywhere, and no Intelligent-Tiering archive configuration.
    const all = JSON.stringify(s.json);
    for (const archived of ['"GLACIER"', 'DEEP_ARCHIVE', 'IntelligentTieringConfigurations']) {
      expect(all).not.toContain(archived);
    }
  });

  test('lifecycle overrides merge field by field; false turns a rule off', async () => {
    const s = await edgeApp();
    const raw = resourcesOf(s, 'AWS::S3::Bucket').find(([, b]) =>
      b.Properties.BucketName.startsWith('edge-raw-'),
    )![1];
    const rules = raw.Properties.LifecycleConfiguration.Rules as any[];
    expect(rules.map((r) => r.Id)).toEqual(['abort-incomplete-multipart-uploads', 'tier-clicks']);
    expect(rules[1]).toEqual({
      Id: 'tier-clicks',
      Status: 'Enabled',
      Prefix: 'web/clicks/country=',
      Transitions: [{ StorageClass: 'INTELLIGENT_TIERING', TransitionInDays: 0 }],
    });
    expect(
      resolveLifecycle('models', { glacierInstantRetrievalAfterDays: 0, intelligentTieringAfterDays: false }),
    ).toEqual({
      ...LAKEHOUSE_DEFAULTS.lifecycle.models,
      intelligentTieringAfterDays: false,
      glacierInstantRetrievalAfterDays: 0,
    });
  });

  test('lifecycle values S3 or Delta would not accept are refused with the reason', () => {
    expectThrowsCode(
      () => resolveLifecycle('curated', { expirationDays: 30 }),
      'UNSAFE_OPERATION',
      /only the scratch zone may expire/,
    );
    expectThrowsCode(
      () => resolveLifecycle('raw', { noncurrentVersionExpirationDays: 0 }),
      'INVALID_ARGUMENT',
      /noncurrentVersionExpirationDays is 0: it must be a whole number >= 1 \(S3 rejects 0 days here\), or false/,
    );
    expectThrowsCode(
      () => resolveLifecycle('raw', { intelligentTieringAfterDays: 1.5 }),
      'INVALID_ARGUMENT',
      /whole number >= 0/,
    );
    expectThrowsCode(
      () =>
        resolveLifecycle('raw', { intelligentTieringAfterDays: 90, glacierInstantRetrievalAfterDays: 30 }),
      'INVALID_ARGUMENT',
      /must be later than intelligentTieringAfterDays/,
    );
    expect(resolveLifecycle('scratch', { expirationDays: 1 }).expirationDays).toBe(1);
  });

  test('bucket names are length-checked, assuming the longest account and region when they are tokens', () => {
    const agnostic = new Stack(new App(), 'Agnostic');
    const prefix45 = 'a'.repeat(45);
    // 45 + "-raw-" + 12 + "-" + 15 = 78 > 63
    expectThrowsCode(
      () => bucketName(agnostic, prefix45, 'raw'),
      'INVALID_ARGUMENT',
      /can be 78 characters, more than S3's 63: shorten the name prefix .* by 15/,
    );
    const fits = 'a'.repeat(30); // 30 + 5 + 12 + 1 + 15 = 63
    expect(bucketName(agnostic, fits, 'raw')).toContain(`${fits}-raw-`);
    expect(bucketName(freshStack(), 'lake', 'curated')).toBe(`lake-curated-${ACCOUNT}-${REGION}`);
    expectThrowsCode(
      () => bucketName(freshStack(), 'Lake_1', 'raw'),
      'INVALID_ARGUMENT',
      /name prefix "Lake_1" is not valid/,
    );
    expectThrowsCode(
      () => new LakehouseStorage(freshStack(), 'S', { zones: ['raw', 'raw'] }),
      'INVALID_ARGUMENT',
      /names a zone twice/,
    );
  });

  test('a LakeTable in a zone the stack does not create is refused', async () => {
    const tables = await loadLakeTables(EXAMPLES);
    expectThrowsCode(
      () => new LakehouseStorage(freshStack(), 'S', { zones: ['raw', 'curated'], tables }),
      'INVALID_SPEC',
      /LakeTable "model-registry" lives in zone "models", which this stack does not create/,
    );
  });
});

describe('removal policy: a two-key guard', () => {
  const stateful = ['AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::Glue::Database'];

  test.each([
    ['retain', false],
    ['retain', true],
    ['destroy', false],
  ] as const)('removalPolicy %s with the context flag %s: everything is retained', async (policy, flag) => {
    const s = await removalApp(policy, flag);
    for (const type of stateful) {
      const resources = resourcesOf(s, type);
      expect(resources.length).toBeGreaterThan(0);
      for (const [, r] of resources) {
        expect(r.DeletionPolicy).toBe('Retain');
        expect(r.UpdateReplacePolicy).toBe('Retain');
      }
    }
    expect(resourcesOf(s, 'Custom::S3AutoDeleteObjects')).toHaveLength(0);
    const warnings = Annotations.fromStack(s.stack).findWarning(
      '*',
      Match.stringLikeRegexp('removalPolicy DESTROY is ignored'),
    );
    expect(warnings.length > 0).toBe(policy === 'destroy');
  });

  test('removalPolicy destroy AND the context flag: buckets are emptied and deleted, keys scheduled for deletion', async () => {
    const s = await removalApp('destroy', true);
    for (const type of stateful) {
      for (const [, r] of resourcesOf(s, type)) expect(r.DeletionPolicy).toBe('Delete');
    }
    expect(resourcesOf(s, 'Custom::S3AutoDeleteObjects')).toHaveLength(5);
    for (const [, k] of resourcesOf(s, 'AWS::KMS::Key')) {
      expect(k.Properties.PendingWindowInDays).toBe(LAKEHOUSE_DEFAULTS.kmsPendingWindowDays);
    }
  });

  test('resolveRemovalPolicy reads the flag as boolean or string', () => {
    expect(
      resolveRemovalPolicy(freshStack({ [REMOVE_DATA_ON_DESTROY_CONTEXT]: 'true' }), RemovalPolicy.DESTROY),
    ).toBe(RemovalPolicy.DESTROY);
    expect(
      resolveRemovalPolicy(freshStack({ [REMOVE_DATA_ON_DESTROY_CONTEXT]: 'yes' }), RemovalPolicy.DESTROY),
    ).toBe(RemovalPolicy.RETAIN);
    expect(resolveRemovalPolicy(freshStack({ [REMOVE_DATA_ON_DESTROY_CONTEXT]: true }), undefined)).toBe(
      RemovalPolicy.RETAIN,
    );
    expect(
      resolveRemovalPolicy(freshStack({ [REMOVE_DATA_ON_DESTROY_CONTEXT]: true }), RemovalPolicy.SNAPSHOT),
    ).toBe(RemovalPolicy.RETAIN);
  });
});

/** The statements of a role's default policy, by Sid. */
function statementsOf(s: { json: any }, roleLogicalIdPrefix: string): Record<string, any> {
  const [, policy] = Object.entries<any>(s.json.Resources).find(
    ([id, r]) => r.Type === 'AWS::IAM::Policy' && id.startsWith(`${roleLogicalIdPrefix}DefaultPolicy`),
  )!;
  return Object.fromEntries((policy.Properties.PolicyDocument.Statement as any[]).map((st) => [st.Sid, st]));
}

const objectsArn = (bucket: string, pattern: string): unknown => ({
  'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, `/${pattern}`]],
});

describe('LakehouseAccess', () => {
  test('reader: get objects, list, decrypt through S3 — in curated and models only', async () => {
    const st = statementsOf(await mainApp(), 'AccessReaderRole');
    expect(Object.keys(st).sort()).toEqual([
      'CuratedBucket',
      'CuratedKey',
      'CuratedObjects',
      'GlueCatalog',
      'ModelsBucket',
      'ModelsKey',
      'ModelsObjects',
    ]);
    expect(st.CuratedObjects).toEqual({
      Sid: 'CuratedObjects',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
      Resource: objectsArn(ZONE_BUCKETS.curated, '*'),
    });
    expect(st.CuratedBucket).toEqual({
      Sid: 'CuratedBucket',
      Effect: 'Allow',
      Action: ['s3:ListBucket', 's3:GetBucketLocation'],
      Resource: { 'Fn::GetAtt': [ZONE_BUCKETS.curated, 'Arn'] },
    });
    expect(st.CuratedKey).toEqual({
      Sid: 'CuratedKey',
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: { 'Fn::GetAtt': [KEYS.curated, 'Arn'] },
      Condition: { StringEquals: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } },
    });
    expect(st.GlueCatalog.Action).toEqual([
      'glue:GetDatabase',
      'glue:GetDatabases',
      'glue:GetTable',
      'glue:GetTables',
      'glue:GetPartition',
      'glue:GetPartitions',
      'glue:BatchGetPartition',
    ]);
    const glue = (r: string): unknown => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:glue:${REGION}:${ACCOUNT}:${r}`]],
    });
    expect(st.GlueCatalog.Resource).toEqual([
      glue('catalog'),
      glue('database/lakehouse_test_curated'),
      glue('database/lakehouse_test_models'),
      glue('table/lakehouse_test_curated/*'),
      glue('table/lakehouse_test_models/*'),
    ]);
  });

  test('writer: put and multipart uploads but no deletes, in raw and curated; encrypt with the zone key', async () => {
    const st = statementsOf(await mainApp(), 'AccessWriterRole');
    expect(
      Object.keys(st)
        .filter((k) => k.endsWith('Objects'))
        .sort(),
    ).toEqual(['CuratedObjects', 'RawObjects']);
    expect(st.RawObjects.Action).toEqual([
      's3:GetObject',
      's3:GetObjectVersion',
      's3:PutObject',
      's3:AbortMultipartUpload',
      's3:ListMultipartUploadParts',
    ]);
    expect(JSON.stringify(st)).not.toContain('s3:DeleteObject');
    expect(st.RawKey.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(st.RawBucket.Action).toEqual([
      's3:ListBucket',
      's3:GetBucketLocation',
      's3:ListBucketMultipartUploads',
    ]);
  });

  test('operator: every zone, deletes for VACUUM, updates Glue tables', async () => {
    const st = statementsOf(await mainApp(), 'AccessOperatorRole');
    for (const zone of ['Raw', 'Curated', 'Models', 'Scratch']) {
      expect(st[`${zone}Objects`].Action).toContain('s3:DeleteObject');
      expect(st[`${zone}Objects`].Action).not.toContain('s3:DeleteObjectVersion');
    }
    expect(st.GlueCatalog.Action).toContain('glue:UpdateTable');
    expect(st.GlueCatalog.Action).not.toContain('glue:DeleteTable');
  });

  test('no role has a "*" resource or an action wildcard (IAM mode)', async () => {
    const s = await mainApp();
    for (const [, p] of resourcesOf(s, 'AWS::IAM::Policy')) {
      for (const st of p.Properties.PolicyDocument.Statement) {
        expect(st.Resource).not.toEqual('*');
        for (const a of [st.Action].flat()) expect(a).not.toMatch(/\*/);
      }
    }
  });

  test('a reader limited to a prefix: object ARNs under it, listing limited by s3:prefix', async () => {
    const s = await edgeApp();
    const st = statementsOf(s, 'AccessReaderRole');
    expect(st.CuratedObjects.Resource).toEqual(objectsArn('StorageCuratedBucket1413FA2D', 'web/sessions/*'));
    expect(st.CuratedBucket.Condition).toEqual({ StringLike: { 's3:prefix': ['web/sessions/*'] } });
    expect(s.access.writerRole).toBeUndefined();
    expect(
      resourcesOf(s, 'AWS::IAM::Role')
        .map(([, r]) => r.Properties.RoleName)
        .filter(Boolean)
        .sort(),
    ).toEqual(['edge-operator', 'edge-reader']);
  });

  test('IRSA: an OIDC provider for the issuer, trust limited to the service account and the STS audience', async () => {
    const s = await mainApp();
    s.template.hasResourceProperties('AWS::IAM::OIDCProvider', {
      Url: `https://${ISSUER_HOST}`,
      ClientIdList: ['sts.amazonaws.com'],
    });
    const role = s.json.Resources.AccessOperatorRole74D321A0!;
    expect(role.Properties.RoleName).toBe('lakehouse-test-operator');
    const statements = role.Properties.AssumeRolePolicyDocument.Statement as any[];
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: 'sts:AssumeRoleWithWebIdentity',
      Principal: { Federated: { Ref: 'AccessOidcProvider5B7F2C0A' } },
      Condition: {
        StringEquals: {
          [`${ISSUER_HOST}:sub`]: 'system:serviceaccount:lakehouse:lakehouse-operator',
          [`${ISSUER_HOST}:aud`]: 'sts.amazonaws.com',
        },
      },
    });
  });

  test('EKS Pod Identity: trust by session tags of cluster, namespace and service account, and the association', async () => {
    for (const s of [await mainApp(), await edgeApp()]) {
      const edge = s.stack.stackName === 'Edge';
      const [ns, sa, cluster] = edge
        ? ['lake-ops', 'maint', 'edge-eks']
        : ['lakehouse', 'lakehouse-operator', 'lake-eks'];
      const [, role] = resourcesOf(s, 'AWS::IAM::Role').find(([id]) => id.startsWith('AccessOperatorRole'))!;
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toContainEqual({
        Effect: 'Allow',
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Principal: { Service: 'pods.eks.amazonaws.com' },
        Condition: {
          StringEquals: {
            'aws:RequestTag/eks-cluster-name': cluster,
            'aws:RequestTag/kubernetes-namespace': ns,
            'aws:RequestTag/kubernetes-service-account': sa,
          },
        },
      });
      s.template.hasResourceProperties('AWS::EKS::PodIdentityAssociation', {
        ClusterName: cluster,
        Namespace: ns,
        ServiceAccount: sa,
        RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AccessOperatorRole'), 'Arn'] },
      });
      if (edge) {
        // Pod Identity only: no web identity and no account-wide trust.
        expect(role.Properties.AssumeRolePolicyDocument.Statement).toHaveLength(1);
        expect(resourcesOf(s, 'AWS::IAM::OIDCProvider')).toHaveLength(0);
      }
    }
  });

  test('grants are checked against the storage', async () => {
    const stack = freshStack();
    const storage = new LakehouseStorage(stack, 'Storage', { zones: ['raw'] });
    expectThrowsCode(
      () => new LakehouseAccess(stack, 'A', { storage, reader: { zones: ['curated'] } }),
      'INVALID_ARGUMENT',
      /reader: zone "curated" is not created by the storage/,
    );
    expectThrowsCode(
      () =>
        new LakehouseAccess(stack, 'B', { storage, reader: { zones: [{ zone: 'raw', prefixes: ['a/*'] }] } }),
      'INVALID_ARGUMENT',
      /prefix "a\/\*" in zone "raw" is not a key prefix/,
    );
    expectThrowsCode(
      () =>
        new LakehouseAccess(stack, 'C', {
          storage,
          reader: { zones: ['raw'] },
          writer: { zones: ['raw'] },
          operator: { zones: ['raw'], irsa: { oidcIssuerUrl: 'http://insecure' } },
        }),
      'INVALID_ARGUMENT',
      /oidcIssuerUrl "http:\/\/insecure" is not an https URL/,
    );
  });
});

describe('LakehouseCatalog', () => {
  test('a Glue database per zone, located at the zone bucket', async () => {
    const s = await mainApp();
    for (const zone of LAKEHOUSE_ZONES) {
      s.template.hasResourceProperties('AWS::Glue::Database', {
        CatalogId: ACCOUNT,
        DatabaseInput: {
          Name: `lakehouse_test_${zone}`,
          LocationUri: { 'Fn::Join': ['', ['s3://', { Ref: ZONE_BUCKETS[zone] }, '/']] },
        },
      });
    }
  });

  test('each LakeTable becomes a Delta table: columns, partition keys, location, engine parameters', async () => {
    const s = await mainApp();
    const tables = await loadLakeTables(EXAMPLES);
    const registered = tables.filter((t) => t.spec.catalog?.enabled !== false);
    expect(resourcesOf(s, 'AWS::Glue::Table')).toHaveLength(registered.length);
    const features = tables.find((t) => t.metadata.name === 'order-features')!;
    const columns = resolvedColumns(features);
    const glueColumn = (c: (typeof columns)[number]) => ({
      Name: c.name,
      Type: deltaTypeToHiveType(c.type),
      ...(c.comment !== undefined ? { Comment: c.comment } : {}),
    });
    const location = {
      'Fn::Join': ['', ['s3://', { Ref: ZONE_BUCKETS.curated }, '/order_fallout/order_features']],
    };
    s.template.hasResourceProperties('AWS::Glue::Table', {
      CatalogId: ACCOUNT,
      DatabaseName: 'lakehouse_test_curated',
      TableInput: {
        Name: 'order_features',
        TableType: 'EXTERNAL_TABLE',
        Parameters: {
          EXTERNAL: 'TRUE',
          table_type: 'DELTA',
          'spark.sql.sources.provider': 'delta',
          classification: 'delta',
          'lakehouse.dev/laketable': 'order-features',
        },
        PartitionKeys: [{ Name: 'day', Type: 'date', Comment: 'Order date (UTC)' }],
        StorageDescriptor: {
          Location: location,
          Columns: columns.filter((c) => c.name !== 'day').map(glueColumn),
          InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
          SerdeInfo: {
            SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
            Parameters: { path: location, 'serialization.format': '1' },
          },
        },
      },
    });
    // Hive types from the Delta types of the spec.
    s.template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'order_features',
        StorageDescriptor: Match.objectLike({
          Columns: Match.arrayWith([
            { Name: 'order_amount', Type: 'decimal(12,2)' },
            { Name: 'item_count', Type: 'int' },
            { Name: 'basket_category_share', Type: 'map<string,double>' },
          ]),
        }),
      }),
    });
  });

  test('edge cases: custom databases, several partition keys, s3 locations, other clouds and storages left out', async () => {
    const s = await edgeApp();
    expect(s.catalog.tables.map((t) => [t.name, t.database, t.table])).toEqual([
      ['clicks', 'edge_web', 'click_events'],
      ['sessions', 'edge_curated', 'sessions'],
      ['partner-feed', 'edge_default', 'partner_feed'],
    ]);
    expect(s.catalog.databaseNames).toEqual([
      'edge_raw',
      'edge_curated',
      'edge_models',
      'edge_scratch',
      'edge_web',
      'edge_default',
    ]);
    s.template.hasResourceProperties('AWS::Glue::Table', {
      DatabaseName: 'edge_web',
      TableInput: Match.objectLike({
        Name: 'click_events',
        PartitionKeys: [
          { Name: 'country', Type: 'string' },
          { Name: 'day', Type: 'date' },
        ],
        StorageDescriptor: Match.objectLike({
          Columns: [
            { Name: 'click_id', Type: 'string', Comment: 'Unique click' },
            { Name: 'url', Type: 'string' },
            { Name: 'tags', Type: 'array<string>' },
          ],
        }),
      }),
    });
    s.template.hasResourceProperties('AWS::Glue::Table', {
      DatabaseName: 'edge_default',
      TableInput: Match.objectLike({
        Name: 'partner_feed',
        StorageDescriptor: Match.objectLike({ Location: 's3://partner-bucket/feeds/daily' }),
      }),
    });
    s.template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'sessions',
        StorageDescriptor: Match.objectLike({
          Columns: Match.arrayWith([{ Name: 'stats', Type: 'struct<clicks:bigint,amount:decimal(10,2)>' }]),
        }),
      }),
    });
    const infos = Annotations.fromStack(s.stack).findInfo(
      '*',
      Match.stringLikeRegexp('is not registered here'),
    );
    expect(infos.map((i) => i.entry.data).sort()).toEqual([
      'LakeTable "azure-feed" is not registered here: it lives at abfss://feeds@partner.dfs.core.windows.net/daily, outside S3',
      'LakeTable "elsewhere" is not registered here: it lives in storage "archive", not "default"',
    ]);
  });

  test('Lake Formation mode: no IAMAllowedPrincipals default, locations registered, grants per role and level', async () => {
    const s = await edgeApp();
    for (const [, db] of resourcesOf(s, 'AWS::Glue::Database')) {
      expect(db.Properties.DatabaseInput.CreateTableDefaultPermissions).toEqual([]);
    }
    expect(resourcesOf(s, 'AWS::LakeFormation::Resource')).toHaveLength(4);
    s.template.hasResourceProperties('AWS::LakeFormation::Resource', {
      ResourceArn: { 'Fn::GetAtt': ['StorageCuratedBucket1413FA2D', 'Arn'] },
      UseServiceLinkedRole: false,
      RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CatalogLakeFormationDataAccessRole'), 'Arn'] },
    });
    const grants = resourcesOf(s, 'AWS::LakeFormation::PrincipalPermissions').map(([, g]) => g.Properties);
    const readerTables = grants.filter(
      (g) => JSON.stringify(g.Principal).includes('AccessReaderRole') && g.Resource.Table !== undefined,
    );
    expect(readerTables).toEqual(
      [
        {
          Principal: { DataLakePrincipalIdentifier: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } },
          Resource: { Table: { CatalogId: ACCOUNT, DatabaseName: 'edge_curated', TableWildcard: {} } },
          Permissions: ['SELECT', 'DESCRIBE'],
          PermissionsWithGrantOption: [],
        },
      ].map((g) => ({ ...g, Principal: readerTables[0]!.Principal })),
    );
    const operatorTables = grants.filter(
      (g) => JSON.stringify(g.Principal).includes('AccessOperatorRole') && g.Resource.Table !== undefined,
    );
    expect(operatorTables.map((g) => g.Resource.Table.DatabaseName).sort()).toEqual([
      'edge_curated',
      'edge_models',
      'edge_raw',
      'edge_scratch',
      'edge_web',
    ]);
    for (const g of operatorTables)
      expect(g.Permissions).toEqual(['SELECT', 'DESCRIBE', 'INSERT', 'DELETE', 'ALTER']);
    const st = statementsOf(s, 'AccessReaderRole');
    expect(st.LakeFormationDataAccess).toEqual({
      Sid: 'LakeFormationDataAccess',
      Effect: 'Allow',
      Action: 'lakeformation:GetDataAccess',
      Resource: '*',
    });
  });
});

describe('the app', () => {
  test('the configuration merges the file, the context object and single overrides, later wins', () => {
    const dir = tempDir('config');
    const file = path.join(dir, 'lakehouse.yaml');
    writeFileSync(
      file,
      'env: fromfile\nregion: eu-central-1\nzones: [raw, curated]\nremovalPolicy: destroy\n',
    );
    const app = new App({
      context: {
        'lakehouse:config': file,
        lakehouse: { region: 'eu-west-1', tablesDir: 'x' },
        'lakehouse:env': 'override',
      },
    });
    expect(readAppConfig(app)).toEqual({
      env: 'override',
      region: 'eu-west-1',
      zones: ['raw', 'curated'],
      removalPolicy: 'destroy',
      tablesDir: 'x',
    });
    const missing = new App({ context: { 'lakehouse:config': path.join(dir, 'nope.yaml') } });
    expectThrowsCode(() => readAppConfig(missing), 'NOT_FOUND', /config file .*nope\.yaml cannot be read/);
  });

  test('eks settings choose the operator identity; default role zones follow the storage', () => {
    const build = (config: AppConfig): LakehouseStack =>
      new LakehouseStack(new App(), 'L', { config, tables: [], env: { account: ACCOUNT, region: REGION } });
    const pod = build({ zones: ['raw', 'curated'], eks: { clusterName: 'c1' } });
    expect(pod.access.podIdentityAssociation).toBeDefined();
    expect(pod.access.oidcProvider).toBeUndefined();
    // The reader's default zones are curated and models; models is not created, so curated only.
    const readerPolicy = Stack.of(pod)
      .resolve((pod.access.readerRole!.node.findChild('DefaultPolicy') as any).document)
      .Statement.map((st: { Sid: string }) => st.Sid);
    expect(readerPolicy.filter((sid: string) => sid.endsWith('Objects'))).toEqual(['CuratedObjects']);
    const irsa = build({
      eks: {
        oidcIssuerUrl: `https://${ISSUER_HOST}`,
        oidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/x',
      },
    });
    expect(irsa.access.podIdentityAssociation).toBeUndefined();
    expect(irsa.access.oidcProvider).toBeUndefined(); // the given provider is used, none created
    expectThrowsCode(
      () => build({ eks: { identity: 'both', clusterName: 'c1' } }),
      'INVALID_ARGUMENT',
      /eks.identity both needs eks.oidcIssuerUrl/,
    );
  });

  test('outputs what the operator overlay needs', async () => {
    const s = await mainApp();
    const outputs = s.json.Outputs!;
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'Region',
        'OperatorRoleArn',
        'ReaderRoleArn',
        'WriterRoleArn',
        'OperatorNamespace',
        'OperatorServiceAccount',
        ...LAKEHOUSE_ZONES.flatMap((z) => {
          const t = z[0]!.toUpperCase() + z.slice(1);
          return [`${t}BucketName`, `${t}ZoneUri`, `${t}GlueDatabase`];
        }),
      ].sort(),
    );
    expect(outputs.Region.Value).toBe(REGION);
    expect(outputs.RawBucketName.Value).toEqual({ Ref: ZONE_BUCKETS.raw });
    expect(outputs.OperatorRoleArn.Value).toEqual({ 'Fn::GetAtt': ['AccessOperatorRole74D321A0', 'Arn'] });
    expect(outputs.OperatorServiceAccount.Value).toBe('lakehouse-operator');
    expect(s.stack.stackName).toBe('Lakehouse-test');
  });

  test('the configuration is validated field by field', () => {
    expect(() =>
      parseAppConfig({ env: 'Prod', region: 'moon-1', lifecycle: { raw: { expirationDays: -1 } } }, 'cfg'),
    ).toThrow(
      /cfg is not valid:\n {2}env: env is lowercase.*\n {2}region: region is an AWS region name.*\n {2}lifecycle\.raw\.expirationDays: /s,
    );
    expect(
      parseAppConfig({ lifecycle: { raw: { intelligentTieringAfterDays: 0 } } }, 'cfg').lifecycle?.raw,
    ).toEqual({
      intelligentTieringAfterDays: 0,
    });
  });
});
