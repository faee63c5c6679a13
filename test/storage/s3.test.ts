import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { openStore } from '../../lib/storage/index.js';
import { s3ConfigFromOptions, s3LakehouseError } from '../../lib/storage/s3.js';
import { startMinio, type MinioServer } from '../harness/minio.js';
import { objectStoreContract } from './contract.js';
import { concurrentCommitsTest } from './concurrent-commits.js';
import { tableLifecycleTest } from './table-lifecycle.js';
import { lossyNetworkSuite } from './lossy-network.js';
import { cliListTest } from './cli-ls.js';

let minio: MinioServer;
beforeAll(async () => {
  minio = await startMinio();
});
afterAll(async () => {
  await minio?.stop();
});

objectStoreContract('S3 (MinIO)', () => openStore(minio.uri(), minio.storageOptions));

function rawClient(): S3Client {
  return new S3Client({
    endpoint: minio.endpoint,
    region: minio.region,
    forcePathStyle: true,
    credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
    maxAttempts: 1,
  });
}

async function statusOf(p: Promise<unknown>): Promise<number | string> {
  return p.then(
    () => 'succeeded',
    (err: { $metadata?: { httpStatusCode?: number }; name?: string }) =>
      err.$metadata?.httpStatusCode ?? String(err.name),
  );
}

describe('MinIO: put-if-absent smoke test (If-None-Match: *)', () => {
  test('a second PutObject of the same key fails with 412', async () => {
    const s3 = rawClient();
    const Key = `smoke/${randomUUID()}.json`;
    await s3.send(new PutObjectCommand({ Bucket: minio.bucket, Key, Body: 'first', IfNoneMatch: '*' }));
    expect(
      await statusOf(
        s3.send(new PutObjectCommand({ Bucket: minio.bucket, Key, Body: 'second', IfNoneMatch: '*' })),
      ),
    ).toBe(412);
    const got = await s3.send(new GetObjectCommand({ Bucket: minio.bucket, Key }));
    expect(await got.Body!.transformToString()).toBe('first');
    s3.destroy();
  });

  test('a second multipart upload of the same key fails with 412 at CompleteMultipartUpload', async () => {
    const s3 = rawClient();
    const Key = `smoke/${randomUUID()}.parquet`;
    const multipart = async (body: string) => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: minio.bucket, Key }));
      const { ETag } = await s3.send(
        new UploadPartCommand({ Bucket: minio.bucket, Key, UploadId, PartNumber: 1, Body: body }),
      );
      return s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: minio.bucket,
          Key,
          UploadId,
          IfNoneMatch: '*',
          MultipartUpload: { Parts: [{ ETag, PartNumber: 1 }] },
        }),
      );
    };
    await multipart('first');
    expect(await statusOf(multipart('second'))).toBe(412);
    s3.destroy();
  });
});

describe('S3 options', () => {
  test('delta-rs option names, case-insensitive, with environment fallback', () => {
    const config = s3ConfigFromOptions(
      's3://b/t',
      {
        aws_endpoint_url: 'http://127.0.0.1:9000',
        AWS_ALLOW_HTTP: 'true',
        aws_access_key_id: 'k',
        AWS_SECRET_ACCESS_KEY: 's',
      },
      { AWS_REGION: 'eu-west-1' },
    );
    expect(config).toMatchObject({
      bucket: 'b',
      prefix: 't',
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
    });
  });

  test('AWS: virtual-hosted addressing and the default credential chain unless told otherwise', () => {
    const config = s3ConfigFromOptions('s3://b', {}, { AWS_REGION: 'us-west-2' });
    expect(config).toMatchObject({ forcePathStyle: false, region: 'us-west-2', credentials: undefined });
    expect(s3ConfigFromOptions('s3://b', { AWS_S3_FORCE_PATH_STYLE: 'true' }, {}).forcePathStyle).toBe(true);
    expect(
      s3ConfigFromOptions(
        's3://b',
        { AWS_ENDPOINT_URL: 'https://x', AWS_VIRTUAL_HOSTED_STYLE_REQUEST: 'true' },
        {},
      ).forcePathStyle,
    ).toBe(false);
  });

  test('a plain HTTP endpoint needs AWS_ALLOW_HTTP; half a key pair is refused', () => {
    expect(() => s3ConfigFromOptions('s3://b', { AWS_ENDPOINT_URL: 'http://x:9000' }, {})).toThrow(
      /set AWS_ALLOW_HTTP=true/,
    );
    expect(() => s3ConfigFromOptions('s3://b', { AWS_ACCESS_KEY_ID: 'k' }, {})).toThrow(
      /AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not/,
    );
  });
});

describe('S3 errors say what to do (against MinIO)', () => {
  const failure = async (options: Record<string, string>, uri = minio.uri()) => {
    const store = await openStore(uri, { ...minio.storageOptions, ...options });
    try {
      return (await store.get('x.json').then(
        () => undefined,
        (e: unknown) => e,
      )) as Error & { code: string };
    } finally {
      await store.close?.();
    }
  };

  test('missing bucket', async () => {
    const err = await failure({}, 's3://no-such-bucket/t');
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toBe(
      `storage: bucket "no-such-bucket" does not exist at ${minio.endpoint}; create it, or fix the bucket name (or AWS_ENDPOINT_URL / AWS_REGION if it lives elsewhere)`,
    );
  });

  test('unknown access key', async () => {
    const err = await failure({ AWS_ACCESS_KEY_ID: 'nobody' });
    expect(err.code).toBe('ACCESS_DENIED');
    expect(err.message).toMatch(/does not know the access key id in use .*check AWS_ACCESS_KEY_ID/);
  });

  test('wrong secret key', async () => {
    const err = await failure({ AWS_SECRET_ACCESS_KEY: 'wrong-secret-key' });
    expect(err.code).toBe('ACCESS_DENIED');
    expect(err.message).toMatch(/secret key does not match .*check AWS_SECRET_ACCESS_KEY/);
  });

  test('wrong region', async () => {
    const err = await failure({ AWS_REGION: 'eu-central-1' });
    expect(err.code).toBe('STORAGE_CONFIG');
    expect(err.message).toMatch(/set AWS_REGION=us-east-1/);
  });

  test('wrong endpoint', async () => {
    const err = await failure({ AWS_ENDPOINT_URL: 'http://127.0.0.1:1' });
    expect(err.code).toBe('STORAGE_CONFIG');
    expect(err.message).toMatch(
      /cannot reach the S3 endpoint http:\/\/127\.0\.0\.1:1 .*ECONNREFUSED.*check AWS_ENDPOINT_URL/,
    );
  });

  test('an invalid session token', async () => {
    const err = await failure({ AWS_SESSION_TOKEN: 'not-a-token' });
    expect(err.code).toBe('ACCESS_DENIED');
    expect(err.message).toMatch(/AWS_SESSION_TOKEN/);
  });

  test('expired credentials (the error AWS sends, mapped without a server: MinIO cannot expire a token on demand)', () => {
    const awsError = Object.assign(new Error('The provided token has expired.'), {
      name: 'ExpiredToken',
      $metadata: { httpStatusCode: 400 },
    });
    const err = s3LakehouseError(awsError, {
      op: 'read',
      target: 's3://b/t/x',
      bucket: 'b',
      endpoint: 'AWS S3 in us-east-1',
    });
    expect(err.code).toBe('ACCESS_DENIED');
    expect(err.message).toMatch(/AWS credentials have expired .*refresh them/);
  });
});

lossyNetworkSuite('S3', { writeMethod: 'PUT', preconditionStatus: 412 }, () => ({
  upstream: () => minio.endpoint,
  direct: (root) => openStore(root ?? minio.uri(), minio.storageOptions),
  via: (endpoint, root) => openStore(root, { ...minio.storageOptions, AWS_ENDPOINT_URL: endpoint }),
  isConditionalCreate: (req) => req.method === 'PUT' && req.headers['if-none-match'] === '*',
}));

describe('lakehouse ls on S3 through the CLI', () => {
  const BIN = path.resolve('bin/lakehouse.js');
  const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  const optionArgs = (options: Record<string, string>) =>
    Object.entries(options).flatMap(([k, v]) => ['--storage-option', `${k}=${v}`]);

  cliListTest('S3 (MinIO)', () => ({
    uri: (prefix) => minio.uri(prefix),
    storeUri: (prefix) => minio.uri(prefix),
    storeOptions: minio.storageOptions,
    cliOptions: minio.storageOptions,
  }));

  test('a missing bucket exits 1 and says to create it', () => {
    const r = run(['ls', 's3://no-such-bucket/t', ...optionArgs(minio.storageOptions)]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bucket "no-such-bucket" does not exist .*create it/);
  });

  test('an HTTP endpoint without AWS_ALLOW_HTTP exits 2 and says which option to set', () => {
    const { AWS_ALLOW_HTTP: _allow, ...rest } = minio.storageOptions;
    const r = run(['ls', minio.uri(), ...optionArgs(rest)]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/set AWS_ALLOW_HTTP=true/);
  });
});

describe('concurrent commits on S3 (MinIO)', () => {
  concurrentCommitsTest('MinIO', () => ({ uri: minio.uri(), options: minio.storageOptions }));
});

describe('table life cycle on S3 (MinIO)', () => {
  tableLifecycleTest('MinIO', () => ({ uri: minio.uri(), options: minio.storageOptions }));
});
