import { lookup } from 'node:dns/promises';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  IdempotencyStrategy,
  Storage,
  type Bucket,
  type StorageOptions as GcsClientOptions,
} from '@google-cloud/storage';
import { LakehouseError } from '../errors.js';
import { registerCloudStore, type StorageOptions } from './index.js';
import type { ListOptions, ObjectMeta, ObjectStore, PutOptions } from './object-store.js';
import { checkRelativePath, storeKey } from './paths.js';
import {
  DEFAULT_RETRY_POLICY,
  classifyNetworkError,
  describeError,
  forEachLimited,
  isTransientStatus,
  optionReader,
  putIfAbsentWithRetries,
  readIfExists,
  type FailureKind,
} from './retry.js';
import { parseLocation } from './uri.js';

export interface GcsStoreConfig {
  bucket: string;
  /** Object name prefix of the store root, no leading or trailing slash. */
  prefix: string;
  /** Emulator (fake-gcs-server) URL; requests to it carry no credentials. */
  emulatorHost?: string;
  /** Service-account key file; undefined means Application Default Credentials. */
  keyFilename?: string;
  /** Service-account key JSON given inline. */
  credentialsJson?: string;
  projectId?: string;
}

/** Resumable-upload chunk (a multiple of 256 KiB): the most a `putStream` holds in memory. */
const CHUNK_SIZE = 8 * 1024 * 1024;
const DELETE_CONCURRENCY = 16;

/**
 * Storage options for GCS, named as delta-rs (object_store) names them. Keys are case-insensitive
 * and fall back to the environment variable of the same upper-case name:
 *
 * - `GOOGLE_SERVICE_ACCOUNT` (alias `GOOGLE_SERVICE_ACCOUNT_PATH`, `service_account`): key file.
 * - `GOOGLE_SERVICE_ACCOUNT_KEY` (alias `service_account_key`): the key's JSON itself.
 * - Neither: Application Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`, GKE workload
 *   identity, the metadata server, `gcloud auth application-default login`).
 * - `GOOGLE_CLOUD_PROJECT` (alias `project_id`): only needed by some credential types.
 * - `STORAGE_EMULATOR_HOST`: an emulator such as fake-gcs-server, e.g. `http://127.0.0.1:4443`.
 */
export function gcsConfigFromOptions(
  uri: string,
  options: StorageOptions,
  env = process.env,
): GcsStoreConfig {
  const loc = parseLocation(uri);
  if (loc.scheme !== 'gs') throw new LakehouseError('INVALID_ARGUMENT', `"${uri}" is not a gs:// URI`);
  const opt = optionReader(options, env);
  let emulatorHost = opt('STORAGE_EMULATOR_HOST', 'emulator_host');
  if (emulatorHost !== undefined && !/^https?:\/\//.test(emulatorHost))
    emulatorHost = `http://${emulatorHost}`;
  return {
    bucket: loc.bucket,
    prefix: loc.prefix,
    emulatorHost: emulatorHost?.replace(/\/+$/, ''),
    keyFilename: opt(
      'GOOGLE_SERVICE_ACCOUNT',
      'GOOGLE_SERVICE_ACCOUNT_PATH',
      'service_account',
      'service_account_path',
    ),
    credentialsJson: opt('GOOGLE_SERVICE_ACCOUNT_KEY', 'service_account_key'),
    projectId: opt('GOOGLE_CLOUD_PROJECT', 'GOOGLE_PROJECT_ID', 'project_id'),
  };
}

/** Open `gs://bucket/prefix` with delta-rs style options (see `gcsConfigFromOptions`). */
export async function openGcsStore(uri: string, options: StorageOptions = {}): Promise<GcsObjectStore> {
  return new GcsObjectStore(gcsConfigFromOptions(uri, options));
}

function clientOptions(config: GcsStoreConfig): GcsClientOptions {
  const out: GcsClientOptions = { projectId: config.projectId };
  if (config.emulatorHost !== undefined) {
    out.apiEndpoint = config.emulatorHost;
    out.projectId ??= 'emulator';
  }
  if (config.keyFilename !== undefined) out.keyFilename = config.keyFilename;
  if (config.credentialsJson !== undefined) {
    try {
      out.credentials = JSON.parse(config.credentialsJson) as GcsClientOptions['credentials'];
    } catch (err) {
      throw new LakehouseError(
        'STORAGE_CONFIG',
        `storage: GOOGLE_SERVICE_ACCOUNT_KEY is not JSON (${(err as Error).message}); give the key file's content, or its path as GOOGLE_SERVICE_ACCOUNT`,
      );
    }
  }
  return out;
}

/**
 * Google Cloud Storage. `putIfAbsent` is a single-request upload with `ifGenerationMatch=0`.
 * Idempotent requests use the SDK's retries (exponential back-off); the conditional create uses
 * a client without them and retries by `putIfAbsentWithRetries`, which checks by content.
 * `startAfter` maps to the server's `startOffset` (inclusive), the equal name filtered here.
 */
export class GcsObjectStore implements ObjectStore {
  readonly root: string;
  private readonly bucket: Bucket;
  private readonly createBucket: Bucket;
  private readonly rootKey: string;

  constructor(readonly config: GcsStoreConfig) {
    this.root = `gs://${config.bucket}${config.prefix ? `/${config.prefix}` : ''}`;
    this.rootKey = config.prefix ? `${config.prefix}/` : '';
    const base = clientOptions(config);
    this.bucket = new Storage({
      ...base,
      retryOptions: {
        autoRetry: true,
        maxRetries: DEFAULT_RETRY_POLICY.maxAttempts - 1,
        // The client waits multiplier^n seconds: 1, 1.5, 2.3, 3.4 s.
        retryDelayMultiplier: 1.5,
        maxRetryDelay: DEFAULT_RETRY_POLICY.maxDelayMs / 1000,
        totalTimeout: 300,
        // Our writes are whole-object puts and deletes: repeating one is harmless.
        idempotencyStrategy: IdempotencyStrategy.RetryAlways,
      },
    }).bucket(config.bucket);
    this.createBucket = new Storage({
      ...base,
      retryOptions: { autoRetry: false, idempotencyStrategy: IdempotencyStrategy.RetryNever },
    }).bucket(config.bucket);
  }

  private reachable: Promise<void> | undefined;

  /**
   * Fail at once, with what to fix, when the endpoint's host does not resolve or (an emulator)
   * refuses connections: the client retries requests that got no answer, whatever the cause,
   * which took 15 s before the error. Checked once per store; a failure is checked again.
   */
  private ensureReachable(): Promise<void> {
    this.reachable ??= probeEndpoint(this.config.emulatorHost).catch((err: unknown) => {
      this.reachable = undefined;
      throw err;
    });
    return this.reachable;
  }

  private file(path: string, bucket = this.bucket) {
    checkRelativePath(path);
    return bucket.file(storeKey(this.rootKey, path));
  }

  private describe(path: string): string {
    return `gs://${this.config.bucket}/${this.rootKey}${path}`;
  }

  async get(path: string): Promise<Uint8Array> {
    await this.ensureReachable();
    try {
      const [buf] = await this.file(path).download();
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      throw this.error(err, 'read', path);
    }
  }

  async getRange(path: string, start: number, end: number): Promise<Uint8Array> {
    await this.ensureReachable();
    if (end <= start) {
      await this.head(path);
      return new Uint8Array(0);
    }
    try {
      const [buf] = await this.file(path).download({ start, end: end - 1, validation: false });
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      if (gcsStatus(err) === 416) return new Uint8Array(0); // start at or past the end
      throw this.error(err, 'read', path);
    }
  }

  async head(path: string): Promise<ObjectMeta> {
    await this.ensureReachable();
    try {
      const [m] = await this.file(path).getMetadata();
      return {
        path,
        size: Number(m.size ?? 0),
        lastModified: m.updated ? Date.parse(m.updated) : 0,
        etag: m.generation !== undefined ? String(m.generation) : m.etag,
      };
    } catch (err) {
      throw this.error(err, 'read', path);
    }
  }

  async put(path: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    await this.ensureReachable();
    try {
      await this.file(path).save(Buffer.from(data.buffer, data.byteOffset, data.byteLength), {
        resumable: false,
        contentType: options.contentType,
      });
    } catch (err) {
      throw this.error(err, 'write', path);
    }
  }

  async putStream(path: string, data: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<void> {
    await this.ensureReachable();
    try {
      const sink = this.file(path).createWriteStream({
        resumable: true,
        chunkSize: CHUNK_SIZE,
        contentType: options.contentType,
      });
      await pipeline(Readable.from(data), sink);
    } catch (err) {
      throw this.error(err, 'write', path);
    }
  }

  async putIfAbsent(path: string, data: Uint8Array): Promise<void> {
    await this.ensureReachable();
    const file = this.file(path, this.createBucket);
    const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    await putIfAbsentWithRetries(data, {
      create: async () => {
        await file.save(body, { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
      },
      readBack: readIfExists(() => this.get(path)),
      classify: classifyGcsError,
      toError: (err) => this.error(err, 'write', path),
      describe: this.describe(path),
    });
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectMeta> {
    await this.ensureReachable();
    if (prefix) checkRelativePath(prefix);
    const startAfter = options.startAfter;
    let pageToken: string | undefined;
    do {
      let files, next;
      try {
        [files, next] = await this.bucket.getFiles({
          prefix: this.rootKey + prefix,
          autoPaginate: false,
          maxResults: 1000,
          pageToken,
          startOffset: startAfter !== undefined ? this.rootKey + startAfter : undefined,
        });
      } catch (err) {
        throw this.error(err, 'list', prefix);
      }
      for (const f of files) {
        if (f.name.endsWith('/')) continue; // a "folder" placeholder, not an object
        const path = f.name.slice(this.rootKey.length);
        if (startAfter !== undefined && path <= startAfter) continue;
        const m = f.metadata;
        yield {
          path,
          size: Number(m.size ?? 0),
          lastModified: m.updated ? Date.parse(m.updated) : 0,
          etag: m.generation !== undefined ? String(m.generation) : m.etag,
        };
      }
      pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken;
    } while (pageToken);
  }

  async deleteMany(paths: readonly string[]): Promise<void> {
    await this.ensureReachable();
    for (const p of paths) checkRelativePath(p);
    await forEachLimited(paths, DELETE_CONCURRENCY, async (p) => {
      try {
        await this.file(p).delete({ ignoreNotFound: true });
      } catch (err) {
        throw this.error(err, 'delete', p);
      }
    });
  }

  private error(err: unknown, op: 'read' | 'write' | 'list' | 'delete', path: string): LakehouseError {
    if (err instanceof LakehouseError) return err;
    return gcsLakehouseError(err, {
      op,
      target: this.describe(path),
      bucket: this.config.bucket,
      endpoint: this.config.emulatorHost ?? 'Google Cloud Storage',
    });
  }
}

function gcsStatus(err: unknown): number | undefined {
  const e = err as { code?: unknown; status?: unknown; response?: { status?: unknown } } | undefined;
  for (const s of [e?.code, e?.status, e?.response?.status]) if (typeof s === 'number') return s;
  return undefined;
}

function gcsReason(err: unknown): string | undefined {
  const errors = (err as { errors?: { reason?: string }[] } | undefined)?.errors;
  return Array.isArray(errors) ? errors[0]?.reason : undefined;
}

const NO_CREDENTIALS =
  /Could not load the default credentials|Unable to detect a Project Id|No key or keyFile set|ENOENT.*\.json/i;

/** Sort a GCS SDK failure (see `FailureKind`). */
export function classifyGcsError(err: unknown): FailureKind {
  if (err instanceof LakehouseError) return 'other';
  const status = gcsStatus(err);
  const message = (err as Error | undefined)?.message ?? '';
  if (status === 412 || gcsReason(err) === 'conditionNotMet') return 'precondition';
  if (status === 404) return 'not-found';
  if (status === 401 || status === 403) return 'access-denied';
  if (NO_CREDENTIALS.test(message)) return 'config';
  const net = classifyNetworkError(err);
  if (net) return net;
  if (isTransientStatus(status)) return 'transient';
  return 'other';
}

interface GcsErrorContext {
  op: 'read' | 'write' | 'list' | 'delete';
  target: string;
  bucket: string;
  endpoint: string;
}

/** Messages that say what is wrong and what to do, for each failure a user meets. */
export function gcsLakehouseError(err: unknown, ctx: GcsErrorContext): LakehouseError {
  const detail = describeError(err);
  const make = (c: ConstructorParameters<typeof LakehouseError>[0], message: string): LakehouseError =>
    new LakehouseError(c, `storage: ${message}`, { cause: err });
  switch (classifyGcsError(err)) {
    case 'not-found':
      // A write or a listing needs no object to exist: its 404 is the bucket's.
      if (/bucket/i.test(detail) || ctx.op === 'write' || ctx.op === 'list') {
        return make(
          'NOT_FOUND',
          `bucket "${ctx.bucket}" does not exist at ${ctx.endpoint}; create it, or fix the bucket name in the URI`,
        );
      }
      return make('NOT_FOUND', `${ctx.target} does not exist`);
    case 'access-denied':
      if (gcsStatus(err) === 401 || /expired|invalid_grant|invalid credentials/i.test(detail)) {
        return make(
          'ACCESS_DENIED',
          `the Google credentials were rejected (${detail}); they may have expired: run ` +
            `"gcloud auth application-default login" again or check GOOGLE_SERVICE_ACCOUNT`,
        );
      }
      return make(
        'ACCESS_DENIED',
        `access denied to ${ctx.target} (${ctx.op}): ${detail}; the account in use needs ` +
          `roles/storage.objectAdmin (or objectUser) on bucket "${ctx.bucket}"`,
      );
    case 'config': {
      if (classifyNetworkError(err) === 'config') {
        return make(
          'STORAGE_CONFIG',
          `cannot reach ${ctx.endpoint} (${detail}); check STORAGE_EMULATOR_HOST or the network`,
        );
      }
      return make(
        'STORAGE_CONFIG',
        `no Google credentials found (${detail}); set GOOGLE_SERVICE_ACCOUNT (key file) or ` +
          `GOOGLE_APPLICATION_CREDENTIALS, run "gcloud auth application-default login", or run with workload identity`,
      );
    }
    case 'transient':
      return make(
        'STORAGE_TRANSIENT',
        `${ctx.op} of ${ctx.target} failed after retries (${detail}); the service is busy or unreachable, retry later`,
      );
    case 'precondition':
      return make('FILE_ALREADY_EXISTS', `${ctx.target} already exists`);
    default:
      return make('STORAGE', `${ctx.op} of ${ctx.target} failed: ${detail}`);
  }
}

/** See `GcsObjectStore.ensureReachable`. Behind a proxy, names resolve there: nothing to check. */
async function probeEndpoint(emulatorHost: string | undefined): Promise<void> {
  const env = process.env;
  if (env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy) return;
  const url = new URL(emulatorHost ?? 'https://storage.googleapis.com');
  const endpoint = emulatorHost ?? 'Google Cloud Storage';
  const unreachable = (detail: string): LakehouseError =>
    new LakehouseError(
      'STORAGE_CONFIG',
      `storage: cannot reach ${endpoint} (${detail}); check ${emulatorHost ? 'STORAGE_EMULATOR_HOST' : 'the network and DNS'}`,
    );
  try {
    await lookup(url.hostname);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND') throw unreachable(`${url.hostname} does not resolve: ${code}`);
    return; // EAI_AGAIN and the like may pass: the client's retries handle them
  }
  if (!emulatorHost) return;
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host: url.hostname, port, timeout: 5000 });
    const done = (err?: LakehouseError): void => {
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    socket.once('connect', () => done());
    socket.once('timeout', () => done()); // slow is not refused: let the request decide
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done(
        err.code === 'ECONNREFUSED'
          ? unreachable(`connection refused at ${url.host}: ECONNREFUSED`)
          : undefined,
      ),
    );
  });
}

registerCloudStore('gs', openGcsStore);
