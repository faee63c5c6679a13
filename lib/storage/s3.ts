import { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { LakehouseError } from '../errors.js';
import { registerCloudStore, type StorageOptions } from './index.js';
import type { ListOptions, ObjectMeta, ObjectStore, PutOptions } from './object-store.js';
import { checkRelativePath, storeKey } from './paths.js';
import {
  DEFAULT_RETRY_POLICY,
  classifyNetworkError,
  describeError,
  isTransientStatus,
  isTrue,
  optionReader,
  putIfAbsentWithRetries,
  readIfExists,
  withRetries,
  type FailureKind,
} from './retry.js';
import { parseLocation } from './uri.js';

/** Resolved settings of an S3 store; `openS3Store` builds them from delta-rs style options. */
export interface S3StoreConfig {
  bucket: string;
  /** Key prefix of the store root, without leading or trailing slash ('' for the bucket root). */
  prefix: string;
  /** S3-compatible endpoint (MinIO, R2, ...); undefined means AWS. */
  endpoint?: string;
  /** Undefined: the SDK resolves it (AWS_REGION, profile). */
  region?: string;
  /** Path-style addressing (`endpoint/bucket/key`), what S3-compatible servers expect. */
  forcePathStyle: boolean;
  /** Static credentials; undefined means the SDK's default chain (env, profile, IRSA, Pod Identity, IMDS). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** A named profile from ~/.aws/config for the default chain. */
  profile?: string;
}

/** Multipart part size: lib-storage holds at most `PART_QUEUE` parts in memory at once. */
const PART_SIZE = 8 * 1024 * 1024;
const PART_QUEUE = 2;
/** DeleteObjects accepts at most 1,000 keys per request. */
const DELETE_BATCH = 1000;

/**
 * Storage options for S3, named as delta-rs (object_store) names them. Keys are case-insensitive;
 * each falls back to the environment variable of the same upper-case name:
 *
 * - `AWS_ENDPOINT_URL` (alias `AWS_ENDPOINT`, `endpoint`): S3-compatible server.
 * - `AWS_REGION` (alias `AWS_DEFAULT_REGION`, `region`); default `us-east-1` with an endpoint.
 * - `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`; `AWS_PROFILE`. Without
 *   keys the SDK's default credential chain is used (env, profile, web identity for EKS IRSA,
 *   EKS Pod Identity, instance metadata).
 * - `AWS_ALLOW_HTTP=true`: required for a plain `http://` endpoint.
 * - `AWS_S3_FORCE_PATH_STYLE` / `AWS_VIRTUAL_HOSTED_STYLE_REQUEST`: addressing; default is
 *   path-style with a custom endpoint, virtual-hosted on AWS.
 */
export function s3ConfigFromOptions(uri: string, options: StorageOptions, env = process.env): S3StoreConfig {
  const loc = parseLocation(uri);
  if (loc.scheme !== 's3') throw new LakehouseError('INVALID_ARGUMENT', `"${uri}" is not an s3:// URI`);
  const opt = optionReader(options, env);
  const endpoint = opt('AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT', 'aws_endpoint', 'endpoint');
  if (endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new LakehouseError(
        'STORAGE_CONFIG',
        `storage: AWS_ENDPOINT_URL "${endpoint}" is not a URL; use e.g. https://s3.example.com or http://127.0.0.1:9000`,
      );
    }
    if (url.protocol === 'http:' && !isTrue(opt('AWS_ALLOW_HTTP', 'allow_http'))) {
      throw new LakehouseError(
        'STORAGE_CONFIG',
        `storage: the S3 endpoint ${endpoint} is plain HTTP; set AWS_ALLOW_HTTP=true to allow it`,
      );
    }
  }
  const virtualHosted = opt('AWS_VIRTUAL_HOSTED_STYLE_REQUEST', 'virtual_hosted_style_request');
  const pathStyle = opt('AWS_S3_FORCE_PATH_STYLE', 'AWS_FORCE_PATH_STYLE', 'force_path_style');
  const forcePathStyle =
    pathStyle !== undefined
      ? isTrue(pathStyle)
      : virtualHosted !== undefined
        ? !isTrue(virtualHosted)
        : endpoint !== undefined;
  const accessKeyId = opt('AWS_ACCESS_KEY_ID', 'access_key_id');
  const secretAccessKey = opt('AWS_SECRET_ACCESS_KEY', 'secret_access_key');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new LakehouseError(
      'STORAGE_CONFIG',
      `storage: ${accessKeyId === undefined ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID'} is set but ` +
        `${accessKeyId === undefined ? 'AWS_ACCESS_KEY_ID' : 'AWS_SECRET_ACCESS_KEY'} is not; set both, or neither to use the default credential chain`,
    );
  }
  const sessionToken = opt('AWS_SESSION_TOKEN', 'AWS_TOKEN', 'session_token', 'token');
  return {
    bucket: loc.bucket,
    prefix: loc.prefix,
    endpoint,
    region:
      opt('AWS_REGION', 'AWS_DEFAULT_REGION', 'region') ?? (endpoint !== undefined ? 'us-east-1' : undefined),
    forcePathStyle,
    credentials:
      accessKeyId !== undefined && secretAccessKey !== undefined
        ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) }
        : undefined,
    profile: opt('AWS_PROFILE', 'profile'),
  };
}

/** Open `s3://bucket/prefix` with delta-rs style options (see `s3ConfigFromOptions`). */
export async function openS3Store(uri: string, options: StorageOptions = {}): Promise<S3ObjectStore> {
  return new S3ObjectStore(s3ConfigFromOptions(uri, options));
}

/**
 * Amazon S3 and S3-compatible stores. `putIfAbsent` is a PutObject with `If-None-Match: *`
 * (S3 since 2024, MinIO, R2): no lock table needed. Idempotent requests use the SDK's retries
 * (exponential back-off on throttling, 5xx and network errors); the conditional create uses a
 * client without them and retries by `putIfAbsentWithRetries`, which checks by content whether
 * an unanswered attempt landed.
 */
export class S3ObjectStore implements ObjectStore {
  readonly root: string;
  private readonly client: S3Client;
  private readonly createClient: S3Client;
  private readonly rootKey: string;

  constructor(readonly config: S3StoreConfig) {
    this.root = `s3://${config.bucket}${config.prefix ? `/${config.prefix}` : ''}`;
    this.rootKey = config.prefix ? `${config.prefix}/` : '';
    const base: S3ClientConfig = {
      region: config.region,
      endpoint: config.endpoint,
      forcePathStyle: config.forcePathStyle,
      credentials: config.credentials,
      profile: config.profile,
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
    };
    this.client = new S3Client({ ...base, maxAttempts: DEFAULT_RETRY_POLICY.maxAttempts });
    this.createClient = new S3Client({ ...base, maxAttempts: 1 });
  }

  private key(path: string): string {
    checkRelativePath(path);
    return storeKey(this.rootKey, path);
  }

  private describe(path: string): string {
    return `s3://${this.config.bucket}/${this.rootKey}${path}`;
  }

  async get(path: string): Promise<Uint8Array> {
    return this.read(path);
  }

  async getRange(path: string, start: number, end: number): Promise<Uint8Array> {
    if (end <= start) {
      await this.head(path); // still NOT_FOUND for a missing object
      return new Uint8Array(0);
    }
    return this.read(path, `bytes=${start}-${end - 1}`);
  }

  /**
   * GetObject, whole or one range. The SDK retries the request; a connection lost while the
   * body streams in is retried here (the SDK cannot: it has already returned).
   */
  private async read(path: string, range?: string): Promise<Uint8Array> {
    const Key = this.key(path);
    try {
      return await withRetries(async () => {
        let res;
        try {
          res = await this.client.send(
            new GetObjectCommand({ Bucket: this.config.bucket, Key, Range: range }),
          );
        } catch (err) {
          // A range starting at or past the end: S3 says 416, the contract says empty.
          if (range !== undefined && s3ErrorName(err) === 'InvalidRange') return new Uint8Array(0);
          throw this.error(err, 'read', path);
        }
        return await res.Body!.transformToByteArray();
      }, classifyS3Error);
    } catch (err) {
      throw this.error(err, 'read', path);
    }
  }

  async head(path: string): Promise<ObjectMeta> {
    try {
      const res = await this.client.send(
        new HeadObjectCommand({ Bucket: this.config.bucket, Key: this.key(path) }),
      );
      return {
        path,
        size: res.ContentLength ?? 0,
        lastModified: res.LastModified?.getTime() ?? 0,
        etag: res.ETag,
      };
    } catch (err) {
      throw this.error(err, 'read', path);
    }
  }

  async put(path: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.config.bucket,
          Key: this.key(path),
          Body: data,
          ContentType: options.contentType,
        }),
      );
    } catch (err) {
      throw this.error(err, 'write', path);
    }
  }

  async putStream(path: string, data: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.config.bucket,
        Key: this.key(path),
        Body: Readable.from(data),
        ContentType: options.contentType,
      },
      partSize: PART_SIZE,
      queueSize: PART_QUEUE,
      leavePartsOnError: false, // abort the multipart upload so no orphan parts are billed
    });
    try {
      await upload.done();
    } catch (err) {
      throw this.error(err, 'write', path);
    }
  }

  async putIfAbsent(path: string, data: Uint8Array): Promise<void> {
    const Key = this.key(path);
    await putIfAbsentWithRetries(data, {
      create: async () => {
        await this.createClient.send(
          new PutObjectCommand({ Bucket: this.config.bucket, Key, Body: data, IfNoneMatch: '*' }),
        );
      },
      readBack: readIfExists(() => this.get(path)),
      classify: classifyS3Error,
      toError: (err) => this.error(err, 'write', path),
      explain: s3Detail,
      describe: this.describe(path),
    });
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectMeta> {
    if (prefix) checkRelativePath(prefix);
    const Prefix = this.rootKey + prefix;
    const startAfter = options.startAfter;
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.config.bucket,
            Prefix,
            ContinuationToken: token,
            StartAfter:
              token === undefined && startAfter !== undefined ? this.rootKey + startAfter : undefined,
          }),
        );
      } catch (err) {
        throw this.error(err, 'list', prefix);
      }
      for (const o of page.Contents ?? []) {
        const key = o.Key!;
        if (key.endsWith('/')) continue; // a "folder" marker made by a console, not an object
        const path = key.slice(this.rootKey.length);
        if (startAfter !== undefined && path <= startAfter) continue;
        yield { path, size: o.Size ?? 0, lastModified: o.LastModified?.getTime() ?? 0, etag: o.ETag };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async deleteMany(paths: readonly string[]): Promise<void> {
    for (let i = 0; i < paths.length; i += DELETE_BATCH) {
      const batch = paths.slice(i, i + DELETE_BATCH);
      let res;
      try {
        res = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.config.bucket,
            Delete: { Objects: batch.map((p) => ({ Key: this.key(p) })), Quiet: true },
          }),
        );
      } catch (err) {
        throw this.error(err, 'delete', batch[0]!);
      }
      const failed = res.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0]!;
        const path = (first.Key ?? '').slice(this.rootKey.length);
        throw this.error(
          Object.assign(new Error(first.Message ?? first.Code ?? 'delete failed'), { name: first.Code }),
          'delete',
          path,
          ` (${failed.length} of ${batch.length} objects in this batch were not deleted)`,
        );
      }
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
    this.createClient.destroy();
  }

  /** An SDK failure as the LakehouseError a user can act on. */
  private error(
    err: unknown,
    op: 'read' | 'write' | 'list' | 'delete',
    path: string,
    extra = '',
  ): LakehouseError {
    if (err instanceof LakehouseError) return err;
    return s3LakehouseError(err, {
      op,
      target: this.describe(path) + extra,
      bucket: this.config.bucket,
      endpoint: this.config.endpoint ?? `AWS S3${this.config.region ? ` in ${this.config.region}` : ''}`,
      region: this.config.region,
    });
  }
}

function s3ErrorName(err: unknown): string | undefined {
  const e = err as { name?: unknown; Code?: unknown } | undefined;
  if (typeof e?.Code === 'string') return e.Code;
  return typeof e?.name === 'string' ? e.name : undefined;
}

/** One line about an SDK failure: the S3 error message, with the HTTP status when it says little. */
function s3Detail(err: unknown): string {
  const text = describeError(err);
  const status = s3Status(err);
  const name = s3ErrorName(err);
  if (
    status !== undefined &&
    (name === undefined || name === 'Error' || name === 'Unknown' || /parse error/i.test(text))
  )
    return `HTTP ${status}: ${text}`;
  return text;
}

function s3Status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

const NOT_FOUND = new Set(['NoSuchKey', 'NoSuchBucket', 'NotFound']);
const ACCESS_DENIED = new Set([
  'AccessDenied',
  'Forbidden',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'TokenRefreshRequired',
  'InvalidToken',
  'InvalidTokenId',
  'AllAccessDisabled',
  'RequestTimeTooSkewed',
]);
const CONFIG = new Set([
  'PermanentRedirect',
  'AuthorizationHeaderMalformed',
  'IllegalLocationConstraintException',
  'InvalidRegion',
  'CredentialsProviderError',
  'InvalidBucketName',
]);
const TRANSIENT = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'TimeoutError',
  // S3 answers 409 when another conditional write to the key is in flight: retry it.
  'ConditionalRequestConflict',
  'OperationAborted',
]);

/** Sort an S3 SDK failure (see `FailureKind`). */
export function classifyS3Error(err: unknown): FailureKind {
  if (err instanceof LakehouseError) return 'other'; // already final: the SDK retried it
  const name = s3ErrorName(err);
  const status = s3Status(err);
  if (status === 412 || name === 'PreconditionFailed') return 'precondition';
  if (name !== undefined && TRANSIENT.has(name)) return 'transient';
  if (name !== undefined && NOT_FOUND.has(name)) return 'not-found';
  if (name !== undefined && ACCESS_DENIED.has(name)) return 'access-denied';
  if (name !== undefined && CONFIG.has(name)) return 'config';
  if (/Region is missing|Invalid region/i.test((err as Error)?.message ?? '')) return 'config';
  const net = classifyNetworkError(err);
  if (net) return net;
  if (status === 404) return 'not-found';
  if (status === 403) return 'access-denied';
  if (status === 301 || status === 307) return 'config';
  if (status === 409 || isTransientStatus(status)) return 'transient';
  return 'other';
}

interface S3ErrorContext {
  op: 'read' | 'write' | 'list' | 'delete';
  target: string;
  bucket: string;
  endpoint: string;
  region?: string;
}

/** Messages that say what is wrong and what to do, for each failure a user meets. */
export function s3LakehouseError(err: unknown, ctx: S3ErrorContext): LakehouseError {
  const name = s3ErrorName(err);
  const kind = classifyS3Error(err);
  const detail = s3Detail(err);
  const make = (code: ConstructorParameters<typeof LakehouseError>[0], message: string): LakehouseError =>
    new LakehouseError(code, `storage: ${message}`, { cause: err });
  switch (kind) {
    case 'not-found':
      if (name === 'NoSuchBucket') {
        return make(
          'NOT_FOUND',
          `bucket "${ctx.bucket}" does not exist at ${ctx.endpoint}; create it, or fix the bucket name ` +
            `(or AWS_ENDPOINT_URL / AWS_REGION if it lives elsewhere)`,
        );
      }
      return make('NOT_FOUND', `${ctx.target} does not exist`);
    case 'access-denied':
      if (name === 'ExpiredToken' || name === 'TokenRefreshRequired' || /expired/i.test(detail)) {
        return make(
          'ACCESS_DENIED',
          `the AWS credentials have expired (${detail}); refresh them (e.g. "aws sso login", a new ` +
            `AWS_SESSION_TOKEN, or let the role credentials renew) and retry`,
        );
      }
      if (name === 'InvalidAccessKeyId') {
        return make(
          'ACCESS_DENIED',
          `${ctx.endpoint} does not know the access key id in use (${detail}); check AWS_ACCESS_KEY_ID ` +
            `(and AWS_ENDPOINT_URL: keys of one S3 service do not work on another)`,
        );
      }
      if (name === 'SignatureDoesNotMatch') {
        return make(
          'ACCESS_DENIED',
          `the request signature was rejected by ${ctx.endpoint}: the secret key does not match the ` +
            `access key id; check AWS_SECRET_ACCESS_KEY`,
        );
      }
      if (name === 'InvalidToken' || name === 'InvalidTokenId') {
        return make(
          'ACCESS_DENIED',
          `the session token was rejected (${detail}); check AWS_SESSION_TOKEN or unset it for long-term keys`,
        );
      }
      if (name === 'RequestTimeTooSkewed') {
        return make(
          'ACCESS_DENIED',
          `this machine's clock is too far off for S3 (${detail}); fix the clock (NTP)`,
        );
      }
      return make(
        'ACCESS_DENIED',
        `access denied to ${ctx.target} (${ctx.op}): ${detail}; the credentials in use need ` +
          `s3:GetObject, s3:PutObject, s3:ListBucket and s3:DeleteObject on bucket "${ctx.bucket}"`,
      );
    case 'config': {
      const net = classifyNetworkError(err);
      if (net === 'config') {
        return make(
          'STORAGE_CONFIG',
          `cannot reach the S3 endpoint ${ctx.endpoint} (${detail}); check AWS_ENDPOINT_URL and that the ` +
            `server is running`,
        );
      }
      if (name === 'CredentialsProviderError') {
        return make(
          'STORAGE_CONFIG',
          `no AWS credentials found (${detail}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ` +
            `(storage options or environment) or AWS_PROFILE, or run with a role (EKS IRSA / Pod Identity, instance profile)`,
        );
      }
      if (name === 'InvalidBucketName') {
        return make('STORAGE_CONFIG', `"${ctx.bucket}" is not a valid bucket name (${detail})`);
      }
      const expected =
        /expecting '([^']+)'/.exec(detail)?.[1] ??
        (err as { Region?: string } | undefined)?.Region ??
        undefined;
      if (/Region is missing/i.test(detail)) {
        return make(
          'STORAGE_CONFIG',
          `no AWS region configured; set AWS_REGION (storage option or environment)`,
        );
      }
      return make(
        'STORAGE_CONFIG',
        `bucket "${ctx.bucket}" is not served at ${ctx.endpoint}` +
          (ctx.region ? ` with region ${ctx.region}` : '') +
          ` (${detail})` +
          (expected
            ? `; it is in region ${expected}: set AWS_REGION=${expected}`
            : '; check AWS_REGION and AWS_ENDPOINT_URL'),
      );
    }
    case 'transient':
      return make(
        'STORAGE_TRANSIENT',
        `${ctx.op} of ${ctx.target} failed after retries (${detail}); the service is busy or ` +
          `unreachable, retry later`,
      );
    case 'precondition':
      return make('FILE_ALREADY_EXISTS', `${ctx.target} already exists`);
    default:
      return make('STORAGE', `${ctx.op} of ${ctx.target} failed: ${name ? `${name}: ` : ''}${detail}`);
  }
}

registerCloudStore('s3', openS3Store);
