/**
 * The operator's Kubernetes API client: the endpoints it calls (LakeTables and their status,
 * Events, Secrets, Leases, Jobs, watches), with the call shapes of `@kubernetes/client-node`
 * (`kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ … })`, `ApiException.code`,
 * `new Watch(kc).watch(…)`), over `node:https`.
 *
 * Why not client-node itself: importing it costs ~70 MiB of RSS (its generated API and models for
 * every resource, 32 MiB of heap, and undici), more than 1,000 cached LakeTables. Only types are
 * taken from it (`import type`, erased at build time).
 *
 * Contract:
 * - Connection and credentials come from a kubeconfig (`loadFromFile`, `loadFromDefault`: $KUBECONFIG,
 *   then ~/.kube/config, then in-cluster) or the in-cluster ServiceAccount (`loadFromCluster`):
 *   the cluster CA (`certificate-authority[-data]`), `insecure-skip-tls-verify`, `tls-server-name`;
 *   the user's bearer `token`, `tokenFile` (re-read every minute: projected ServiceAccount tokens
 *   rotate), client certificate and key, basic auth, or a client-go exec credential plugin
 *   (cached until its `expirationTimestamp`). Legacy `auth-provider` plugins are refused with a
 *   message (use an exec plugin).
 * - Objects go over the wire as JSON and come back as parsed JSON: timestamps are strings (the
 *   `V1…` types exported here say so, unlike client-node's, which turns them into Dates).
 * - A response other than 2xx rejects with `ApiException` (`code` = HTTP status, `body` = the
 *   API server's Status object). A request with no response within `requestTimeoutMs` (60 s)
 *   rejects with an Error.
 * - `startOperator` also takes a client-node `KubeConfig` (tests build one): `KubeConfig.from`
 *   copies its current cluster and user.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { isIPv6 } from 'node:net';
import { parse as parseYaml } from 'yaml';
import type * as k8s from '@kubernetes/client-node';

/** A type as JSON carries it: client-node's Date fields are RFC 3339 strings on the wire. */
export type Wire<T> = T extends Date
  ? string
  : T extends Array<infer U>
    ? Array<Wire<U>>
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

export type V1Lease = Wire<k8s.V1Lease>;
export type V1Secret = Wire<k8s.V1Secret>;
export type CoreV1Event = Wire<k8s.CoreV1Event>;
export type V1Job = Wire<k8s.V1Job>;
export type V1JobList = Wire<k8s.V1JobList>;
export type V1Status = Wire<k8s.V1Status>;
export type V1DeleteOptions = Wire<k8s.V1DeleteOptions>;
/** A request body: client-node's type (Dates are sent as ISO strings) or its wire form. */
type Body<T> = T | Wire<T>;

/** A cluster entry of a kubeconfig, as client-node's `Cluster` (certificate data base64-encoded). */
export interface ClusterInfo {
  readonly name?: string;
  readonly server: string;
  readonly caData?: string;
  readonly caFile?: string;
  readonly skipTLSVerify?: boolean;
  readonly tlsServerName?: string;
  readonly proxyUrl?: string;
}

/** A user entry of a kubeconfig, as client-node's `User`. */
export interface UserInfo {
  readonly name?: string;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly certData?: string;
  readonly certFile?: string;
  readonly keyData?: string;
  readonly keyFile?: string;
  readonly username?: string;
  readonly password?: string;
  readonly exec?: ExecConfig;
  // client-node types these as any.
  readonly authProvider?: { name?: string; config?: Record<string, unknown> } | unknown;
  readonly impersonateUser?: string;
}

/** A client-go credential plugin (`users[].user.exec`). */
export interface ExecConfig {
  readonly command: string;
  readonly args?: readonly string[];
  readonly env?: ReadonlyArray<{ name: string; value: string }>;
  readonly apiVersion?: string;
}

/** Anything that names a cluster and a user: this `KubeConfig`, or client-node's. */
export interface KubeConfigSource {
  getCurrentCluster(): ClusterInfo | null;
  getCurrentUser(): UserInfo | null;
}

const SERVICEACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
const TOKEN_FILE_REREAD_MS = 60_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

/** A non-2xx answer of the API server. */
export class ApiException<T = unknown> extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly body: T,
    readonly headers: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiException';
  }
}

/** The connection settings of one cluster and user, and the requests made with them. */
export class KubeConfig implements KubeConfigSource {
  private cluster: ClusterInfo | null = null;
  private user: UserInfo | null = null;
  /** The namespace of the current context (in-cluster: the pod's). */
  namespace: string | undefined;
  private transport: Transport | undefined;

  /** The current cluster and user of another kubeconfig (client-node's `KubeConfig` too). */
  static from(source: KubeConfigSource): KubeConfig {
    if (source instanceof KubeConfig) return source;
    const kc = new KubeConfig();
    kc.cluster = source.getCurrentCluster();
    kc.user = source.getCurrentUser();
    return kc;
  }

  getCurrentCluster(): ClusterInfo | null {
    return this.cluster;
  }

  getCurrentUser(): UserInfo | null {
    return this.user;
  }

  /** Read a kubeconfig file; relative file paths in it are relative to its folder (as kubectl). */
  loadFromFile(file: string, context?: string): void {
    this.loadFromFiles([file], context);
  }

  /**
   * $KUBECONFIG (files separated by the path delimiter, merged as kubectl does: the first file
   * that names a cluster, user or context wins), else ~/.kube/config, else in-cluster.
   */
  loadFromDefault(): void {
    const env = process.env.KUBECONFIG?.split(path.delimiter).filter(Boolean) ?? [];
    if (env.length > 0) return this.loadFromFiles(env);
    const home = path.join(process.env.HOME || homedir(), '.kube', 'config');
    if (existsSync(home)) return this.loadFromFiles([home]);
    if (existsSync(`${SERVICEACCOUNT}/token`)) return this.loadFromCluster();
    throw new Error(
      'no Kubernetes configuration: set KUBECONFIG or --kubeconfig, create ~/.kube/config, or run in a pod with a ServiceAccount token',
    );
  }

  /** The pod's ServiceAccount: $KUBERNETES_SERVICE_HOST/PORT, its CA, its (rotating) token file. */
  loadFromCluster(root = SERVICEACCOUNT): void {
    const host = process.env.KUBERNETES_SERVICE_HOST;
    const port = process.env.KUBERNETES_SERVICE_PORT;
    if (!host || !port)
      throw new Error(
        'in-cluster configuration needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT (set in every pod)',
      );
    const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
    this.cluster = {
      name: 'inCluster',
      server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`,
      caFile: `${root}/ca.crt`,
    };
    this.user = { name: 'inClusterUser', tokenFile: `${root}/token` };
    const nsFile = `${root}/namespace`;
    this.namespace = existsSync(nsFile) ? readFileSync(nsFile, 'utf8').trim() : undefined;
    this.transport = undefined;
  }

  /** An API group client bound to this configuration (client-node's call shape). */
  makeApiClient<T>(api: new (transport: Transport) => T): T {
    return new api(this.transportOf());
  }

  /** The connection every API client of this configuration shares (one keep-alive agent). */
  transportOf(): Transport {
    this.transport ??= new Transport(this);
    return this.transport;
  }

  private loadFromFiles(files: string[], context?: string): void {
    const clusters = new Map<string, ClusterInfo>();
    const users = new Map<string, UserInfo>();
    const contexts = new Map<string, { cluster: string; user: string; namespace?: string }>();
    let current: string | undefined;
    for (const file of files) {
      if (!existsSync(file)) continue;
      const doc = (parseYaml(readFileSync(file, 'utf8')) ?? {}) as RawKubeconfig;
      const dir = path.dirname(path.resolve(file));
      const at = (p: string | undefined): string | undefined => (p ? path.resolve(dir, p) : undefined);
      current ??= doc['current-context'] || undefined;
      for (const { name, cluster: c } of doc.clusters ?? []) {
        if (clusters.has(name) || !c) continue;
        clusters.set(name, {
          name,
          server: c.server,
          caData: c['certificate-authority-data'],
          caFile: at(c['certificate-authority']),
          skipTLSVerify: c['insecure-skip-tls-verify'] === true,
          tlsServerName: c['tls-server-name'],
          proxyUrl: c['proxy-url'],
        });
      }
      for (const { name, user: u } of doc.users ?? []) {
        if (users.has(name)) continue;
        users.set(name, {
          name,
          token: u?.token,
          tokenFile: at(u?.tokenFile ?? u?.['token-file']),
          certData: u?.['client-certificate-data'],
          certFile: at(u?.['client-certificate']),
          keyData: u?.['client-key-data'],
          keyFile: at(u?.['client-key']),
          username: u?.username,
          password: u?.password,
          exec: u?.exec,
          authProvider: u?.['auth-provider'],
          impersonateUser: u?.as,
        });
      }
      for (const { name, context: c } of doc.contexts ?? [])
        if (!contexts.has(name) && c) contexts.set(name, c);
    }
    const name = context ?? current;
    if (!name) throw new Error(`kubeconfig ${files.join(path.delimiter)}: no current-context`);
    const ctx = contexts.get(name);
    if (!ctx) throw new Error(`kubeconfig ${files.join(path.delimiter)}: no context named "${name}"`);
    const cluster = clusters.get(ctx.cluster);
    if (!cluster)
      throw new Error(`kubeconfig: context "${name}" names a cluster "${ctx.cluster}" it does not define`);
    this.cluster = cluster;
    this.user = users.get(ctx.user) ?? { name: ctx.user };
    this.namespace = ctx.namespace;
    this.transport = undefined;
  }
}

interface RawKubeconfig {
  'current-context'?: string;
  clusters?: Array<{
    name: string;
    cluster?: {
      server: string;
      'certificate-authority-data'?: string;
      'certificate-authority'?: string;
      'insecure-skip-tls-verify'?: boolean;
      'tls-server-name'?: string;
      'proxy-url'?: string;
    };
  }>;
  users?: Array<{
    name: string;
    user?: {
      token?: string;
      tokenFile?: string;
      'token-file'?: string;
      'client-certificate-data'?: string;
      'client-certificate'?: string;
      'client-key-data'?: string;
      'client-key'?: string;
      username?: string;
      password?: string;
      exec?: ExecConfig;
      'auth-provider'?: unknown;
      as?: string;
    };
  }>;
  contexts?: Array<{ name: string; context?: { cluster: string; user: string; namespace?: string } }>;
}

type Query = Record<string, string | number | boolean | undefined>;

interface RequestOptions {
  readonly query?: Query;
  readonly body?: unknown;
  readonly contentType?: string;
}

/** Credentials that expire: a token file re-read each minute, or an exec plugin's answer. */
interface Credential {
  readonly header?: string;
  readonly cert?: string;
  readonly key?: string;
  /** ms since the epoch after which the credential is fetched again. */
  readonly until: number;
}

/** HTTP(S) requests to one API server with one user's credentials. */
export class Transport {
  private readonly cluster: ClusterInfo;
  private readonly user: UserInfo;
  private readonly url: URL;
  private agent: http.Agent | undefined;
  private agentCert: string | undefined;
  private credential: Credential | undefined;
  private fetching: Promise<Credential> | undefined;
  requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS;
  /** A token file is read again after this long (kubelet rotates projected tokens well before expiry). */
  tokenFileRereadMs = TOKEN_FILE_REREAD_MS;

  constructor(source: KubeConfigSource) {
    const cluster = source.getCurrentCluster();
    if (!cluster) throw new Error('Kubernetes configuration has no current cluster');
    this.cluster = cluster;
    this.user = source.getCurrentUser() ?? {};
    this.url = new URL(cluster.server);
    if (cluster.proxyUrl)
      throw new Error(
        `kubeconfig cluster ${cluster.name ?? cluster.server}: proxy-url is not supported by the operator; reach the API server directly`,
      );
    const provider = this.user.authProvider as { name?: string; config?: { tokenFile?: string } } | undefined;
    if (provider && !provider.config?.tokenFile)
      throw new Error(
        `kubeconfig user ${this.user.name ?? ''}: the legacy auth-provider "${provider.name ?? '?'}" is not supported; use an exec credential plugin (e.g. gke-gcloud-auth-plugin, kubelogin) or a token`,
      );
  }

  /** A JSON request; resolves with the parsed answer, rejects with ApiException on non-2xx. */
  async request<T = unknown>(method: string, apiPath: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, apiPath, options);
    const text = await readText(res);
    const parsed = parseJson(text);
    if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) > 299)
      throw apiException(method, apiPath, res, parsed ?? text);
    return parsed as T;
  }

  /**
   * A streaming GET (watch): resolves with the response once its headers arrived with 200, or
   * rejects with ApiException (and `statusCode`, as client-node's Watch error carries it).
   */
  async stream(apiPath: string, query: Query, signal: AbortSignal): Promise<http.IncomingMessage> {
    const res = await this.send('GET', apiPath, { query }, signal, false);
    if (res.statusCode !== 200) {
      const body = parseJson(await readText(res));
      const err = apiException('GET', apiPath, res, body) as ApiException & { statusCode?: number };
      err.statusCode = res.statusCode;
      throw err;
    }
    return res;
  }

  private async send(
    method: string,
    apiPath: string,
    options: RequestOptions,
    signal?: AbortSignal,
    timeout = true,
  ): Promise<http.IncomingMessage> {
    const credential = await this.currentCredential();
    const url = new URL(this.url.href.replace(/\/$/, '') + apiPath);
    for (const [k, v] of Object.entries(options.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (credential.header) headers.authorization = credential.header;
    if (this.user.impersonateUser) headers['impersonate-user'] = this.user.impersonateUser;
    let payload: Buffer | undefined;
    if (options.body !== undefined) {
      payload = Buffer.from(JSON.stringify(options.body));
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const secure = url.protocol === 'https:';
    const agent = this.agentFor(credential, secure);
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(url, { method, headers, agent, signal }, resolve);
      req.on('error', reject);
      if (timeout)
        req.setTimeout(this.requestTimeoutMs, () =>
          req.destroy(
            new Error(
              `Kubernetes API ${method} ${apiPath}: no answer within ${this.requestTimeoutMs / 1000} s`,
            ),
          ),
        );
      req.end(payload);
    });
  }

  private agentFor(credential: Credential, secure: boolean): http.Agent {
    const cert = credential.cert ?? fileOrData(this.user.certData, this.user.certFile);
    if (this.agent && this.agentCert === cert) return this.agent;
    this.agent?.destroy();
    this.agentCert = cert;
    // keepAlive: one TLS handshake per connection, not per request (a reconcile makes 3–5 calls).
    this.agent = secure
      ? new https.Agent({
          keepAlive: true,
          ca: fileOrData(this.cluster.caData, this.cluster.caFile),
          cert,
          key: credential.key ?? fileOrData(this.user.keyData, this.user.keyFile),
          rejectUnauthorized: !this.cluster.skipTLSVerify,
          servername: this.cluster.tlsServerName,
        })
      : new http.Agent({ keepAlive: true });
    return this.agent;
  }

  private async currentCredential(): Promise<Credential> {
    if (this.credential && Date.now() < this.credential.until) return this.credential;
    this.fetching ??= this.fetchCredential().finally(() => (this.fetching = undefined));
    this.credential = await this.fetching;
    return this.credential;
  }

  private async fetchCredential(): Promise<Credential> {
    const u = this.user;
    const provider = u.authProvider as { config?: { tokenFile?: string } } | undefined;
    const tokenFile = u.tokenFile ?? provider?.config?.tokenFile;
    if (u.exec) return execCredential(u.exec);
    if (u.token) return { header: `Bearer ${u.token}`, until: Infinity };
    if (tokenFile)
      return {
        header: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}`,
        until: Date.now() + this.tokenFileRereadMs,
      };
    if (u.username !== undefined && u.password !== undefined)
      return {
        header: `Basic ${Buffer.from(`${u.username}:${u.password}`).toString('base64')}`,
        until: Infinity,
      };
    return { until: Infinity };
  }
}

/** Run a client-go credential plugin and read its ExecCredential. */
async function execCredential(exec: ExecConfig): Promise<Credential> {
  const env = { ...process.env };
  for (const e of exec.env ?? []) env[e.name] = e.value;
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(exec.command, [...(exec.args ?? [])], { env, timeout: 60_000 }, (err, out, errOut) =>
      err
        ? reject(new Error(`kubeconfig exec plugin ${exec.command} failed: ${errOut.trim() || err.message}`))
        : resolve(out),
    ),
  );
  const status = (parseJson(stdout) as { status?: Record<string, string> } | undefined)?.status;
  if (!status) throw new Error(`kubeconfig exec plugin ${exec.command} printed no ExecCredential status`);
  const expires = status.expirationTimestamp ? Date.parse(status.expirationTimestamp) : Infinity;
  return {
    header: status.token ? `Bearer ${status.token}` : undefined,
    cert: status.clientCertificateData,
    key: status.clientKeyData,
    // Ten seconds early, so no request goes out with a token about to expire.
    until: expires - 10_000,
  };
}

function fileOrData(data: string | undefined, file: string | undefined): string | undefined {
  if (data) return Buffer.from(data, 'base64').toString('utf8');
  if (file) return readFileSync(file, 'utf8');
  return undefined;
}

function readText(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function apiException(
  method: string,
  apiPath: string,
  res: http.IncomingMessage,
  body: unknown,
): ApiException {
  const code = res.statusCode ?? 0;
  const reason =
    (body as { message?: string } | undefined)?.message ?? res.statusMessage ?? http.STATUS_CODES[code];
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers[k] = v;
  return new ApiException(
    code,
    `Kubernetes API ${method} ${apiPath}: HTTP ${code}: ${reason}`,
    body,
    headers,
  );
}

const seg = encodeURIComponent;

interface CustomObjectRef {
  group: string;
  version: string;
  plural: string;
}
interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  limit?: number;
  _continue?: string;
}
interface WriteOptions {
  dryRun?: string;
  fieldManager?: string;
}
interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
  body?: V1DeleteOptions;
}

function listQuery(p: ListOptions): Query {
  return {
    labelSelector: p.labelSelector,
    fieldSelector: p.fieldSelector,
    resourceVersion: p.resourceVersion,
    limit: p.limit,
    continue: p._continue,
  };
}

function writeQuery(p: WriteOptions): Query {
  return { dryRun: p.dryRun, fieldManager: p.fieldManager };
}

/** A JSON Patch (array) or a merge patch (object), as client-node chooses by default. */
function patchType(body: unknown): string {
  return Array.isArray(body) ? 'application/json-patch+json' : 'application/merge-patch+json';
}

/** Custom resources (LakeTables): `apis/GROUP/VERSION/[namespaces/NS/]PLURAL[/NAME[/status]]`. */
export class CustomObjectsApi {
  constructor(private readonly t: Transport) {}

  private path(p: CustomObjectRef & { namespace?: string; name?: string }, sub = ''): string {
    const ns = p.namespace === undefined ? '' : `/namespaces/${seg(p.namespace)}`;
    const name = p.name === undefined ? '' : `/${seg(p.name)}`;
    return `/apis/${seg(p.group)}/${seg(p.version)}${ns}/${seg(p.plural)}${name}${sub}`;
  }

  listClusterCustomObject(p: CustomObjectRef & ListOptions): Promise<object> {
    return this.t.request('GET', this.path(p), { query: listQuery(p) });
  }
  listNamespacedCustomObject(p: CustomObjectRef & ListOptions & { namespace: string }): Promise<object> {
    return this.t.request('GET', this.path(p), { query: listQuery(p) });
  }
  getNamespacedCustomObject(p: CustomObjectRef & { namespace: string; name: string }): Promise<object> {
    return this.t.request('GET', this.path(p));
  }
  createNamespacedCustomObject(
    p: CustomObjectRef & WriteOptions & { namespace: string; body: object },
  ): Promise<object> {
    return this.t.request('POST', this.path(p), { body: p.body, query: writeQuery(p) });
  }
  replaceNamespacedCustomObject(
    p: CustomObjectRef & WriteOptions & { namespace: string; name: string; body: object },
  ): Promise<object> {
    return this.t.request('PUT', this.path(p), { body: p.body, query: writeQuery(p) });
  }
  replaceNamespacedCustomObjectStatus(
    p: CustomObjectRef & WriteOptions & { namespace: string; name: string; body: object },
  ): Promise<object> {
    return this.t.request('PUT', this.path(p, '/status'), { body: p.body, query: writeQuery(p) });
  }
  patchNamespacedCustomObject(
    p: CustomObjectRef & WriteOptions & { namespace: string; name: string; body: object },
  ): Promise<object> {
    return this.t.request('PATCH', this.path(p), {
      body: p.body,
      query: writeQuery(p),
      contentType: patchType(p.body),
    });
  }
  patchNamespacedCustomObjectStatus(
    p: CustomObjectRef & WriteOptions & { namespace: string; name: string; body: object },
  ): Promise<object> {
    return this.t.request('PATCH', this.path(p, '/status'), {
      body: p.body,
      query: writeQuery(p),
      contentType: patchType(p.body),
    });
  }
  deleteNamespacedCustomObject(
    p: CustomObjectRef & DeleteOptions & { namespace: string; name: string },
  ): Promise<object> {
    return this.t.request('DELETE', this.path(p), {
      body: p.body,
      query: { gracePeriodSeconds: p.gracePeriodSeconds, propagationPolicy: p.propagationPolicy },
    });
  }
}

/** core/v1: Events and Secrets. */
export class CoreV1Api {
  constructor(private readonly t: Transport) {}

  createNamespacedEvent(
    p: WriteOptions & { namespace: string; body: Body<k8s.CoreV1Event> },
  ): Promise<CoreV1Event> {
    return this.t.request('POST', `/api/v1/namespaces/${seg(p.namespace)}/events`, {
      body: p.body,
      query: writeQuery(p),
    });
  }
  readNamespacedSecret(p: { namespace: string; name: string }): Promise<V1Secret> {
    return this.t.request('GET', `/api/v1/namespaces/${seg(p.namespace)}/secrets/${seg(p.name)}`);
  }
}

/** coordination.k8s.io/v1 Leases (leader election). */
export class CoordinationV1Api {
  constructor(private readonly t: Transport) {}

  private path(namespace: string, name?: string): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${seg(namespace)}/leases${name === undefined ? '' : `/${seg(name)}`}`;
  }
  readNamespacedLease(p: { namespace: string; name: string }): Promise<V1Lease> {
    return this.t.request('GET', this.path(p.namespace, p.name));
  }
  createNamespacedLease(p: WriteOptions & { namespace: string; body: Body<k8s.V1Lease> }): Promise<V1Lease> {
    return this.t.request('POST', this.path(p.namespace), { body: p.body, query: writeQuery(p) });
  }
  replaceNamespacedLease(
    p: WriteOptions & { namespace: string; name: string; body: Body<k8s.V1Lease> },
  ): Promise<V1Lease> {
    return this.t.request('PUT', this.path(p.namespace, p.name), { body: p.body, query: writeQuery(p) });
  }
}

/** batch/v1 Jobs. */
export class BatchV1Api {
  constructor(private readonly t: Transport) {}

  private path(namespace: string, name?: string, sub = ''): string {
    return `/apis/batch/v1/namespaces/${seg(namespace)}/jobs${name === undefined ? '' : `/${seg(name)}`}${sub}`;
  }
  createNamespacedJob(p: WriteOptions & { namespace: string; body: Body<k8s.V1Job> }): Promise<V1Job> {
    return this.t.request('POST', this.path(p.namespace), { body: p.body, query: writeQuery(p) });
  }
  readNamespacedJob(p: { namespace: string; name: string }): Promise<V1Job> {
    return this.t.request('GET', this.path(p.namespace, p.name));
  }
  readNamespacedJobStatus(p: { namespace: string; name: string }): Promise<V1Job> {
    return this.t.request('GET', this.path(p.namespace, p.name, '/status'));
  }
  listNamespacedJob(p: ListOptions & { namespace: string }): Promise<V1JobList> {
    return this.t.request('GET', this.path(p.namespace), { query: listQuery(p) });
  }
  replaceNamespacedJob(
    p: WriteOptions & { namespace: string; name: string; body: Body<k8s.V1Job> },
  ): Promise<V1Job> {
    return this.t.request('PUT', this.path(p.namespace, p.name), { body: p.body, query: writeQuery(p) });
  }
  patchNamespacedJob(p: WriteOptions & { namespace: string; name: string; body: object }): Promise<V1Job> {
    return this.t.request('PATCH', this.path(p.namespace, p.name), {
      body: p.body,
      query: writeQuery(p),
      contentType: patchType(p.body),
    });
  }
  deleteNamespacedJob(p: DeleteOptions & { namespace: string; name: string }): Promise<V1Status> {
    return this.t.request('DELETE', this.path(p.namespace, p.name), {
      body: p.body,
      query: { gracePeriodSeconds: p.gracePeriodSeconds, propagationPolicy: p.propagationPolicy },
    });
  }
}

/**
 * Watches, as client-node's `Watch`: `callback(type, object)` per event line; `done(err)` exactly
 * once, when the server ends the watch (err null), the connection fails, the answer is not 200
 * (an Error with `statusCode`), or no byte arrived for `inactivityTimeoutMs` (30 s). The returned
 * AbortController ends the watch (then `done(null)`... or the abort error).
 */
export class Watch {
  inactivityTimeoutMs = 30_000;
  private readonly transport: Transport;

  constructor(kc: KubeConfig | KubeConfigSource) {
    this.transport = KubeConfig.from(kc).transportOf();
  }

  async watch(
    apiPath: string,
    query: Query,
    callback: (type: string, object: never, raw: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const controller = new AbortController();
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: unknown): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      controller.abort();
      done(err);
    };
    const idle = (): void => {
      clearTimeout(timer);
      timer = setTimeout(
        () =>
          finish(new Error(`watch ${apiPath}: nothing received for ${this.inactivityTimeoutMs / 1000} s`)),
        this.inactivityTimeoutMs,
      );
      timer.unref();
    };
    idle();
    try {
      const res = await this.transport.stream(apiPath, { ...query, watch: true }, controller.signal);
      idle();
      let rest = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        idle();
        rest += chunk;
        let nl: number;
        while ((nl = rest.indexOf('\n')) >= 0) {
          const line = rest.slice(0, nl);
          rest = rest.slice(nl + 1);
          if (!line.trim()) continue;
          let event: { type: string; object: never } | undefined;
          try {
            event = JSON.parse(line) as { type: string; object: never };
          } catch {
            continue; // as client-node: a line that is not JSON is skipped
          }
          callback(event.type, event.object, event);
          if (finished) return;
        }
      });
      res.on('end', () => finish(null));
      res.on('error', (err) => finish(controller.signal.aborted ? null : err));
      res.on('close', () => finish(null));
    } catch (err) {
      finish(controller.signal.aborted ? null : err);
    }
    return controller;
  }
}
