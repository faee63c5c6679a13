import { Readable } from 'node:stream';
import { ClientSecretCredential, DefaultAzureCredential } from '@azure/identity';
import {
  AnonymousCredential,
  BlobServiceClient,
  StorageSharedKeyCredential,
  type ContainerClient,
  type StoragePipelineOptions,
} from '@azure/storage-blob';
import type { TokenCredential } from '@azure/identity';
import { LakehouseError } from '../errors.js';
import { registerCloudStore, type StorageOptions } from './index.js';
import type { ListOptions, ObjectMeta, ObjectStore, PutOptions } from './object-store.js';
import { checkRelativePath, storeKey } from './paths.js';
import {
  DEFAULT_RETRY_POLICY,
  describeError,
  forEachLimited,
  isTransientStatus,
  isTrue,
  networkErrorCode,
  optionReader,
  putIfAbsentWithRetries,
  readIfExists,
  readAll,
  type FailureKind,
} from './retry.js';
import { parseLocation } from './uri.js';

/** Azurite's well-known development account (public, documented by Microsoft). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** How the store authenticates, in the order `azureConfigFromOptions` prefers them. */
export type AzureAuth =
  | { kind: 'connection-string'; connectionString: string }
  | { kind: 'account-key'; accountKey: string }
  | { kind: 'sas'; sasToken: string }
  | { kind: 'client-secret'; tenantId: string; clientId: string; clientSecret: string }
  /** DefaultAzureCredential: environment, AKS workload identity, managed identity, Azure CLI. */
  | { kind: 'default' };

export interface AzureStoreConfig {
  container: string;
  /** Blob path prefix of the store root, no leading or trailing slash. */
  prefix: string;
  /** Storage account; undefined only with a connection string (it names the account). */
  account?: string;
  /** Blob service URL with the account, e.g. `https://acct.blob.core.windows.net`. */
  serviceUrl?: string;
  auth: AzureAuth;
  /** The URI the store was opened with, for messages. */
  uri: string;
}

const PART_SIZE = 8 * 1024 * 1024;
const PART_CONCURRENCY = 2;
const DELETE_CONCURRENCY = 16;

/**
 * Storage options for Azure Blob / ADLS Gen2, named as delta-rs (object_store) names them.
 * Keys are case-insensitive; options given in the record win over environment variables.
 *
 * - `AZURE_STORAGE_ACCOUNT_NAME` (alias `account_name`): needed for `az://container/path`.
 * - Credentials, first found wins: `AZURE_STORAGE_CONNECTION_STRING`; `AZURE_STORAGE_ACCOUNT_KEY`
 *   (alias `AZURE_STORAGE_ACCESS_KEY`, `account_key`, `access_key`); `AZURE_STORAGE_SAS_TOKEN`
 *   (alias `AZURE_STORAGE_SAS_KEY`, `sas_token`); `AZURE_CLIENT_ID` + `AZURE_CLIENT_SECRET` +
 *   `AZURE_TENANT_ID` (alias `AZURE_STORAGE_CLIENT_ID`, ...); otherwise `DefaultAzureCredential`.
 * - `AZURE_STORAGE_USE_EMULATOR=true`: Azurite's account and key at `http://127.0.0.1:10000`.
 * - `AZURE_STORAGE_ENDPOINT` (alias `AZURE_ENDPOINT`, `endpoint`): blob service URL including the
 *   account for path-style servers, e.g. `http://127.0.0.1:10000/devstoreaccount1`.
 * - `AZURE_ALLOW_HTTP=true`: required for a plain `http://` endpoint (not for the emulator).
 */
export function azureConfigFromOptions(
  uri: string,
  options: StorageOptions,
  env: NodeJS.ProcessEnv = process.env,
): AzureStoreConfig {
  const loc = parseLocation(uri);
  if (loc.scheme !== 'azure') {
    throw new LakehouseError('INVALID_ARGUMENT', `"${uri}" is not an abfss:// or az:// URI`);
  }
  const opt = optionReader(options, env);
  const useEmulator = isTrue(opt('AZURE_STORAGE_USE_EMULATOR', 'use_emulator'));
  const authFromRecord = pickAuth(optionReader(options, {}));
  const auth: AzureAuth =
    authFromRecord ??
    pickAuth(optionReader({}, env)) ??
    (useEmulator ? { kind: 'account-key', accountKey: AZURITE_KEY } : { kind: 'default' });

  let account = loc.account ?? opt('AZURE_STORAGE_ACCOUNT_NAME', 'AZURE_STORAGE_ACCOUNT', 'account_name');
  if (account === undefined && useEmulator) account = AZURITE_ACCOUNT;
  if (account === undefined && auth.kind !== 'connection-string') {
    throw new LakehouseError(
      'STORAGE_CONFIG',
      `storage: ${uri} does not name a storage account; set AZURE_STORAGE_ACCOUNT_NAME, or use ` +
        `abfss://${loc.container}@ACCOUNT.dfs.core.windows.net/${loc.prefix}`,
    );
  }

  let serviceUrl = opt('AZURE_STORAGE_ENDPOINT', 'AZURE_ENDPOINT', 'azure_storage_endpoint', 'endpoint');
  if (serviceUrl !== undefined) {
    if (!/^https?:\/\//.test(serviceUrl)) {
      throw new LakehouseError(
        'STORAGE_CONFIG',
        `storage: AZURE_STORAGE_ENDPOINT "${serviceUrl}" is not an http(s) URL`,
      );
    }
    if (serviceUrl.startsWith('http:') && !useEmulator && !isTrue(opt('AZURE_ALLOW_HTTP', 'allow_http'))) {
      throw new LakehouseError(
        'STORAGE_CONFIG',
        `storage: the Azure endpoint ${serviceUrl} is plain HTTP; set AZURE_ALLOW_HTTP=true to allow it`,
      );
    }
  } else if (useEmulator) {
    serviceUrl = `${env.AZURITE_BLOB_STORAGE_URL ?? 'http://127.0.0.1:10000'}/${account}`;
  } else if (account !== undefined) {
    // abfss://c@acct.dfs.core.windows.net: ADLS Gen2 accounts serve the same data on the Blob
    // endpoint, which is the one with conditional writes; keep the host's cloud suffix.
    const host = /^[a-z0-9+.-]+:\/\/[^@/]*@([^/]+)/i.exec(uri)?.[1];
    serviceUrl = host
      ? `https://${host.replace('.dfs.', '.blob.')}`
      : `https://${account}.blob.core.windows.net`;
  }
  return { container: loc.container, prefix: loc.prefix, account, serviceUrl, auth, uri };
}

function pickAuth(opt: (...names: string[]) => string | undefined): AzureAuth | undefined {
  const connectionString = opt('AZURE_STORAGE_CONNECTION_STRING', 'connection_string');
  if (connectionString) return { kind: 'connection-string', connectionString };
  const accountKey = opt(
    'AZURE_STORAGE_ACCOUNT_KEY',
    'AZURE_STORAGE_ACCESS_KEY',
    'AZURE_STORAGE_MASTER_KEY',
    'account_key',
    'access_key',
  );
  if (accountKey) return { kind: 'account-key', accountKey };
  const sasToken = opt('AZURE_STORAGE_SAS_TOKEN', 'AZURE_STORAGE_SAS_KEY', 'sas_token', 'sas_key');
  if (sasToken) return { kind: 'sas', sasToken: sasToken.replace(/^\?/, '') };
  const clientId = opt('AZURE_STORAGE_CLIENT_ID', 'AZURE_CLIENT_ID', 'client_id');
  const clientSecret = opt('AZURE_STORAGE_CLIENT_SECRET', 'AZURE_CLIENT_SECRET', 'client_secret');
  const tenantId = opt('AZURE_STORAGE_TENANT_ID', 'AZURE_TENANT_ID', 'tenant_id');
  if (clientId && clientSecret && tenantId)
    return { kind: 'client-secret', clientId, clientSecret, tenantId };
  return undefined;
}

/** Open `abfss://container@account.dfs.core.windows.net/path` or `az://container/path`. */
export async function openAzureStore(uri: string, options: StorageOptions = {}): Promise<AzureObjectStore> {
  return new AzureObjectStore(azureConfigFromOptions(uri, options));
}

function serviceClient(config: AzureStoreConfig, pipeline: StoragePipelineOptions): BlobServiceClient {
  const auth = config.auth;
  switch (auth.kind) {
    case 'connection-string':
      return BlobServiceClient.fromConnectionString(auth.connectionString, pipeline);
    case 'account-key':
      return new BlobServiceClient(
        config.serviceUrl!,
        new StorageSharedKeyCredential(config.account!, auth.accountKey),
        pipeline,
      );
    case 'sas':
      return new BlobServiceClient(
        `${config.serviceUrl}?${auth.sasToken}`,
        new AnonymousCredential(),
        pipeline,
      );
    case 'client-secret':
      return new BlobServiceClient(
        config.serviceUrl!,
        new ClientSecretCredential(auth.tenantId, auth.clientId, auth.clientSecret),
        pipeline,
      );
    case 'default':
      return new BlobServiceClient(config.serviceUrl!, defaultCredential(), pipeline);
  }
}

let sharedDefaultCredential: TokenCredential | undefined;
function defaultCredential(): TokenCredential {
  // One per process: it caches tokens, and probing the sources is slow.
  sharedDefaultCredential ??= new DefaultAzureCredential();
  return sharedDefaultCredential;
}

/**
 * Azure Blob Storage, and ADLS Gen2 (hierarchical namespace) accounts through their Blob
 * endpoint. `putIfAbsent` is a Put Blob with `If-None-Match: *`. Listing has no server-side
 * "start after" on every service version, so `startAfter` is applied to the streamed pages.
 * ADLS Gen2 directories (blobs with metadata `hdi_isfolder=true`) are not listed.
 */
export class AzureObjectStore implements ObjectStore {
  readonly root: string;
  private readonly container: ContainerClient;
  /** Same container, without SDK retries: for the conditional create only. */
  private readonly createContainer: ContainerClient;
  private readonly rootKey: string;

  constructor(readonly config: AzureStoreConfig) {
    this.root = config.uri.replace(/\/+$/, '');
    this.rootKey = config.prefix ? `${config.prefix}/` : '';
    const retries = {
      maxTries: DEFAULT_RETRY_POLICY.maxAttempts,
      retryDelayInMs: DEFAULT_RETRY_POLICY.baseDelayMs * 2,
      maxRetryDelayInMs: DEFAULT_RETRY_POLICY.maxDelayMs,
      tryTimeoutInMs: 120_000,
    };
    this.container = serviceClient(config, { retryOptions: retries }).getContainerClient(config.container);
    this.createContainer = serviceClient(config, {
      retryOptions: { ...retries, maxTries: 1 },
    }).getContainerClient(config.container);
  }

  private blob(path: string, container = this.container) {
    checkRelativePath(path);
    return container.getBlockBlobClient(storeKey(this.rootKey, path));
  }

  private describe(path: string): string {
    return `${this.root}/${path}`;
  }

  async get(path: string): Promise<Uint8Array> {
    try {
      const res = await this.blob(path).download(0, undefined, { maxRetryRequests: 5 });
      return await readAll(res.readableStreamBody!);
    } catch (err) {
      throw this.error(err, 'read', path);
    }
  }

  async getRange(path: string, start: number, end: number): Promise<Uint8Array> {
    if (end <= start) {
      await this.head(path);
      return new Uint8Array(0);
    }
    try {
      const res = await this.blob(path).download(start, end - start, { maxRetryRequests: 5 });
      return await readAll(res.readableStreamBody!);
    } catch (err) {
      if (azureCode(err) === 'InvalidRange') return new Uint8Array(0); // start at or past the end
      throw this.error(err, 'read', path);
    }
  }

  async head(path: string): Promise<ObjectMeta> {
    try {
      const p = await this.blob(path).getProperties();
      return {
        path,
        size: p.contentLength ?? 0,
        lastModified: p.lastModified?.getTime() ?? 0,
        etag: p.etag,
      };
    } catch (err) {
      throw this.error(err, 'read', path);
    }
  }

  async put(path: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    try {
      await this.blob(path).upload(data, data.byteLength, {
        blobHTTPHeaders: { blobContentType: options.contentType },
      });
    } catch (err) {
      throw this.error(err, 'write', path);
    }
  }

  async putStream(path: string, data: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<void> {
    try {
      // Blocks of PART_SIZE, at most PART_CONCURRENCY in flight: bounded memory.
      await this.blob(path).uploadStream(Readable.from(asBuffers(data)), PART_SIZE, PART_CONCURRENCY, {
        blobHTTPHeaders: { blobContentType: options.contentType },
      });
    } catch (err) {
      throw this.error(err, 'write', path);
    }
  }

  async putIfAbsent(path: string, data: Uint8Array): Promise<void> {
    const blob = this.blob(path, this.createContainer);
    await putIfAbsentWithRetries(data, {
      create: async () => {
        await blob.upload(data, data.byteLength, { conditions: { ifNoneMatch: '*' } });
      },
      readBack: readIfExists(() => this.get(path)),
      classify: classifyAzureError,
      toError: (err) => this.error(err, 'write', path),
      describe: this.describe(path),
    });
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectMeta> {
    if (prefix) checkRelativePath(prefix);
    const startAfter = options.startAfter;
    const pages = this.container
      .listBlobsFlat({ prefix: this.rootKey + prefix, includeMetadata: true })
      .byPage({ maxPageSize: 1000 });
    try {
      for await (const page of pages) {
        for (const item of page.segment.blobItems) {
          if (item.name.endsWith('/') || item.metadata?.hdi_isfolder === 'true') continue;
          const path = item.name.slice(this.rootKey.length);
          if (startAfter !== undefined && path <= startAfter) continue;
          yield {
            path,
            size: item.properties.contentLength ?? 0,
            lastModified: item.properties.lastModified.getTime(),
            etag: item.properties.etag,
          };
        }
      }
    } catch (err) {
      throw this.error(err, 'list', prefix);
    }
  }

  async deleteMany(paths: readonly string[]): Promise<void> {
    for (const p of paths) checkRelativePath(p);
    await forEachLimited(paths, DELETE_CONCURRENCY, async (p) => {
      try {
        await this.blob(p).deleteIfExists();
      } catch (err) {
        throw this.error(err, 'delete', p);
      }
    });
  }

  private error(err: unknown, op: 'read' | 'write' | 'list' | 'delete', path: string): LakehouseError {
    if (err instanceof LakehouseError) return err;
    return azureLakehouseError(err, {
      op,
      target: this.describe(path),
      container: this.config.container,
      endpoint: this.config.serviceUrl ?? 'the connection string endpoint',
      auth: this.config.auth.kind,
      sasExpiry: this.config.auth.kind === 'sas' ? sasExpiry(this.config.auth.sasToken) : undefined,
    });
  }
}

/** The SDK's block buffering copies with `Buffer#copy`: give it Buffers (views, no copies). */
async function* asBuffers(data: AsyncIterable<Uint8Array>): AsyncIterable<Buffer> {
  for await (const c of data)
    yield Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
}

function azureCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; details?: { errorCode?: unknown } } | undefined;
  if (typeof e?.details?.errorCode === 'string') return e.details.errorCode;
  return typeof e?.code === 'string' ? e.code : undefined;
}

function azureStatus(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

const AUTH_CODES = new Set([
  'AuthenticationFailed',
  'AuthorizationFailure',
  'AuthorizationPermissionMismatch',
  'AuthorizationSourceIPMismatch',
  'AuthorizationProtocolMismatch',
  'AuthorizationResourceTypeMismatch',
  'AuthorizationServiceMismatch',
  'InsufficientAccountPermissions',
  'KeyBasedAuthenticationNotPermitted',
]);

/** Sort an Azure SDK failure (see `FailureKind`). */
export function classifyAzureError(err: unknown): FailureKind {
  if (err instanceof LakehouseError) return 'other';
  const code = azureCode(err);
  const status = azureStatus(err);
  // Put Blob with If-None-Match: * on an existing blob: 409 BlobAlreadyExists (412 on some servers).
  if (code === 'BlobAlreadyExists' || code === 'ConditionNotMet' || status === 412) return 'precondition';
  if (
    code === 'BlobNotFound' ||
    code === 'ContainerNotFound' ||
    code === 'ResourceNotFound' ||
    status === 404
  )
    return 'not-found';
  if ((code !== undefined && AUTH_CODES.has(code)) || status === 403) return 'access-denied';
  const name = (err as Error | undefined)?.name;
  if (
    name === 'CredentialUnavailableError' ||
    name === 'AuthenticationError' ||
    name === 'AggregateAuthenticationError'
  )
    return 'config';
  const net = networkErrorCode(err);
  if (net === 'ECONNREFUSED' || net === 'ENOTFOUND' || net === 'EHOSTUNREACH') return 'config';
  if (net !== undefined) return 'transient';
  if (
    code === 'ServerBusy' ||
    code === 'OperationTimedOut' ||
    code === 'InternalError' ||
    isTransientStatus(status)
  )
    return 'transient';
  if (code === 'REQUEST_SEND_ERROR') return 'transient';
  return 'other';
}

interface AzureErrorContext {
  op: 'read' | 'write' | 'list' | 'delete';
  target: string;
  container: string;
  endpoint: string;
  auth: AzureAuth['kind'];
  /** The `se=` (signed expiry) of a SAS token in use. */
  sasExpiry?: Date;
}

/** The expiry a SAS token carries (`se=`), if it has a readable one. */
export function sasExpiry(sasToken: string): Date | undefined {
  const se = new URLSearchParams(sasToken).get('se');
  const t = se ? Date.parse(se) : NaN;
  return Number.isNaN(t) ? undefined : new Date(t);
}

const AUTH_HINT: Record<AzureAuth['kind'], string> = {
  'connection-string': 'check AZURE_STORAGE_CONNECTION_STRING',
  'account-key': 'check AZURE_STORAGE_ACCOUNT_KEY and AZURE_STORAGE_ACCOUNT_NAME',
  sas: 'check AZURE_STORAGE_SAS_TOKEN: its expiry (se=), permissions (sp= needs r, w, l, d) and resource',
  'client-secret': 'check AZURE_CLIENT_ID / AZURE_CLIENT_SECRET / AZURE_TENANT_ID and the role assignment',
  default:
    'the identity found by DefaultAzureCredential needs the "Storage Blob Data Contributor" role on the container',
};

/** Messages that say what is wrong and what to do, for each failure a user meets. */
export function azureLakehouseError(err: unknown, ctx: AzureErrorContext): LakehouseError {
  const code = azureCode(err);
  const detail = describeError(err);
  const make = (c: ConstructorParameters<typeof LakehouseError>[0], message: string): LakehouseError =>
    new LakehouseError(c, `storage: ${message}`, { cause: err });
  switch (classifyAzureError(err)) {
    case 'not-found':
      if (code === 'ContainerNotFound') {
        return make(
          'NOT_FOUND',
          `container "${ctx.container}" does not exist at ${ctx.endpoint}; create it, or fix the container ` +
            `or account name in the URI`,
        );
      }
      return make('NOT_FOUND', `${ctx.target} does not exist`);
    case 'access-denied': {
      // The service's words for it vary (Azurite says only "failed to authenticate"); the token
      // itself says when it expires.
      if (ctx.sasExpiry !== undefined && ctx.sasExpiry.getTime() <= Date.now()) {
        return make(
          'ACCESS_DENIED',
          `the SAS token expired at ${ctx.sasExpiry.toISOString()}; get a new one and set AZURE_STORAGE_SAS_TOKEN`,
        );
      }
      if (/expir/i.test(detail)) {
        return make(
          'ACCESS_DENIED',
          `the credentials for ${ctx.endpoint} have expired (${detail}); get a new SAS token or token and retry`,
        );
      }
      return make(
        'ACCESS_DENIED',
        `access denied to ${ctx.target} (${ctx.op}, ${code ?? azureStatus(err)}): ${detail}; ${AUTH_HINT[ctx.auth]}`,
      );
    }
    case 'config': {
      const net = networkErrorCode(err);
      if (net !== undefined) {
        return make(
          'STORAGE_CONFIG',
          `cannot reach the Azure Blob endpoint ${ctx.endpoint} (${net}); check the account name, ` +
            `AZURE_STORAGE_ENDPOINT, and that the service is running`,
        );
      }
      return make(
        'STORAGE_CONFIG',
        `no Azure credentials could be used (${detail}); set AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_SAS_TOKEN ` +
          `or AZURE_STORAGE_CONNECTION_STRING, or run with a managed / workload identity (DefaultAzureCredential)`,
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
      return make('STORAGE', `${ctx.op} of ${ctx.target} failed: ${code ? `${code}: ` : ''}${detail}`);
  }
}

registerCloudStore('azure', openAzureStore);
