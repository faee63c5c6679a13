import { execFile, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { cacheDir, requireTool } from './env.js';
import { freePort, httpReady, startServer, type RunningServer } from './server.js';

/**
 * A real Kubernetes API server for the tests: kube-apiserver and etcd, built from
 * k8s.io/kubernetes by scripts/env.d/50-kube.sh (test/kube/ pins the version), started on free
 * 127.0.0.1 ports with a fresh data folder, certificates and an admin token made for this run.
 *
 * There is no kubelet, scheduler or kube-controller-manager: objects are stored, validated
 * (OpenAPI schema, CEL rules, admission), watched and authorized (RBAC) for real, but no Pod
 * runs, no Job completes, no garbage collector deletes owned objects, a deleted namespace stays
 * Terminating, and ServiceAccounts get no token Secrets (use `serviceAccountToken`, the
 * TokenRequest API).
 */
export interface KubeApiServer {
  /** The API server's URL, `https://127.0.0.1:PORT`. */
  server: string;
  port: number;
  /** Bearer token of the admin user `lakehouse-admin` (group `system:masters`: cluster admin). */
  token: string;
  /** A kubeconfig file for the admin (server, CA data, token); its context is `lakehouse-test`. */
  kubeconfigPath: string;
  /** PEM of the CA that signed the serving certificate (also inside the kubeconfig). */
  caPem: string;
  /** The folder of this run: pki/, etcd/ (data and log), apiserver/ (log), the kubeconfig. */
  dir: string;
  /** kube-apiserver's log file (appended to across restarts). */
  apiserverLog: string;
  etcdLog: string;
  /** The kubectl built with the server (same version). */
  kubectlPath: string;
  /** The Kubernetes version, e.g. `v1.37.2`. */
  version: string;
  /** A fresh client config for the admin. */
  kubeConfig(): KubeConfig;
  /**
   * Run kubectl as the admin (or with the kubeconfig given), never throwing on a non-zero exit.
   * `input` is written to its stdin (e.g. a manifest for `apply -f -`).
   */
  kubectl(args: string[], options?: { input?: string; kubeconfigPath?: string }): Promise<KubectlResult>;
  /**
   * A token for ServiceAccount `namespace/name` through the TokenRequest API (the ServiceAccount
   * is created if absent; the namespace must exist), and a kubeconfig file that uses it. The
   * identity is `system:serviceaccount:<namespace>:<name>` and has only the RBAC it is granted.
   */
  serviceAccountToken(
    namespace: string,
    name: string,
    options?: { expirationSeconds?: number },
  ): Promise<{ token: string; kubeconfigPath: string; username: string }>;
  /**
   * Stop kube-apiserver and start it again on the same port, with the same certificates, keys
   * and etcd (so all objects stay and resourceVersions continue); with `etcd: true` etcd is
   * restarted too, on its same port and data folder. Resolves when /readyz answers 200 again.
   */
  restart(options?: { etcd?: boolean }): Promise<void>;
  /**
   * Stop kube-apiserver, then etcd (each SIGTERM, SIGKILL after 5 s), and delete the run's folder
   * unless `keepDir` was set or LAKEHOUSE_KEEP_KUBE_DIR=1. Idempotent.
   */
  stop(): Promise<void>;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubeApiServerOptions {
  /** More kube-apiserver flags, after the harness's own (a later flag wins), e.g.
   * `--min-request-timeout=5` for short watches or `--etcd-compaction-interval=10s`. */
  extraApiServerArgs?: string[];
  /** Keep the run's folder after stop() (logs, etcd data). Default: false. */
  keepDir?: boolean;
  /** Give up starting after this long (ms). Default 180 s: the first start on 2 busy cores is slow. */
  startTimeoutMs?: number;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

/** The pinned Kubernetes version: the `k8s.io/kubernetes` requirement in test/kube/go.mod. */
export function kubeVersion(): string {
  const goMod = readFileSync(path.join(repoRoot, 'test/kube/go.mod'), 'utf8');
  const match = /^\s*k8s\.io\/kubernetes\s+(v\S+)/m.exec(goMod);
  if (!match) throw new Error('test/kube/go.mod does not require k8s.io/kubernetes');
  return match[1];
}

/** The binary scripts/env.d/50-kube.sh builds (kube-apiserver, etcd and kubectl in one). */
export function kubeBinary(): string {
  const version = kubeVersion();
  return requireTool(
    `kube-apiserver ${version} (built from test/kube)`,
    path.join(cacheDir(), `kube-${version}`, 'bin', 'kube-testenv'),
  );
}

/** Start etcd and kube-apiserver and wait until /readyz answers 200. */
export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const binary = kubeBinary();
  const version = kubeVersion();
  const kubectlPath = requireTool(`kubectl ${version}`, path.join(path.dirname(binary), 'kubectl'));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lk-kube-'));
  const pki = path.join(dir, 'pki');
  mkdirSync(pki);
  const token = randomBytes(24).toString('hex');
  let etcd: RunningServer | undefined;
  let apiserver: RunningServer | undefined;
  try {
    const caPem = await makeCertificates(pki);
    makeServiceAccountKeys(pki);
    // Static tokens: token,user,uid,"groups". system:masters is bound to cluster-admin.
    writeFileSync(
      path.join(pki, 'tokens.csv'),
      `${token},lakehouse-admin,lakehouse-admin,"system:masters"\n`,
    );

    const etcdPeerPort = await freePort();
    const etcdSpec = {
      name: 'etcd',
      command: binary,
      dir: path.join(dir, 'etcd'),
      args: (port: number, etcdDir: string) => [
        'etcd',
        `--data-dir=${path.join(etcdDir, 'data')}`,
        `--listen-client-url=http://127.0.0.1:${port}`,
        `--listen-peer-url=http://127.0.0.1:${etcdPeerPort}`,
        // Test data need not survive a machine crash; fsync on a shared disk slows every write.
        '--unsafe-no-fsync',
      ],
      ready: httpReady('/health', [200]),
    };
    mkdirSync(etcdSpec.dir);
    etcd = await startServer(etcdSpec);
    const etcdPort = etcd.port;

    const apiPort = await freePort();
    const apiSpec = {
      name: 'kube-apiserver',
      command: binary,
      dir: path.join(dir, 'apiserver'),
      port: apiPort,
      startTimeoutMs: options.startTimeoutMs ?? 180_000,
      args: (port: number, apiDir: string) => [
        'kube-apiserver',
        `--etcd-servers=http://127.0.0.1:${etcdPort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${port}`,
        `--cert-dir=${path.join(apiDir, 'certs')}`,
        `--tls-cert-file=${path.join(pki, 'apiserver.crt')}`,
        `--tls-private-key-file=${path.join(pki, 'apiserver.key')}`,
        `--client-ca-file=${path.join(pki, 'ca.crt')}`,
        `--token-auth-file=${path.join(pki, 'tokens.csv')}`,
        '--authorization-mode=RBAC',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${path.join(pki, 'sa.pub')}`,
        `--service-account-signing-key-file=${path.join(pki, 'sa.key')}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        // No kubelets: nothing would serve the "kubernetes" Service's endpoints.
        '--endpoint-reconciler-type=none',
        '--profiling=false',
        ...(options.extraApiServerArgs ?? []),
      ],
      ready: readyzReady(caPem, token),
    };
    mkdirSync(apiSpec.dir);
    apiserver = await startServer(apiSpec);

    const server = `https://127.0.0.1:${apiPort}`;
    const kubeconfigPath = path.join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml(server, caPem, 'lakehouse-admin', token));
    const kubeConfig = (file = kubeconfigPath): KubeConfig => {
      const kc = new KubeConfig();
      kc.loadFromFile(file);
      return kc;
    };

    let stopped = false;
    const handle: KubeApiServer = {
      server,
      port: apiPort,
      token,
      kubeconfigPath,
      caPem,
      dir,
      apiserverLog: apiserver.logFile,
      etcdLog: etcd.logFile,
      kubectlPath,
      version,
      kubeConfig: () => kubeConfig(),
      kubectl: (args, kubectlOptions = {}) =>
        runKubectl(kubectlPath, args, kubectlOptions.kubeconfigPath ?? kubeconfigPath, kubectlOptions.input),
      async serviceAccountToken(namespace, name, tokenOptions = {}) {
        const core = kubeConfig().makeApiClient(CoreV1Api);
        try {
          await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
        } catch (err) {
          if (!(err instanceof ApiException && err.code === 409)) throw err;
        }
        const request = await core.createNamespacedServiceAccountToken({
          namespace,
          name,
          body: { spec: { audiences: [], expirationSeconds: tokenOptions.expirationSeconds ?? 3600 } },
        });
        const saToken = request.status?.token;
        if (!saToken) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
        const username = `system:serviceaccount:${namespace}:${name}`;
        const file = path.join(dir, `kubeconfig-${namespace}-${name}`);
        writeFileSync(file, kubeconfigYaml(server, caPem, username, saToken));
        return { token: saToken, kubeconfigPath: file, username };
      },
      async restart(restartOptions = {}) {
        await apiserver?.stop();
        if (restartOptions.etcd) {
          await etcd?.stop();
          etcd = await startServer({ ...etcdSpec, port: etcdPort });
        }
        apiserver = await startServer(apiSpec);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await apiserver?.stop();
        await etcd?.stop();
        if (!options.keepDir && process.env.LAKEHOUSE_KEEP_KUBE_DIR !== '1') {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
    return handle;
  } catch (err) {
    // Leave the folder: its logs say why the start failed.
    await apiserver?.stop();
    await etcd?.stop();
    throw err;
  }
}

/** Ready when GET /readyz answers 200: every post-start hook (RBAC bootstrap, CRDs...) has run. */
function readyzReady(caPem: string, token: string): (port: number) => Promise<boolean> {
  return (port) =>
    new Promise((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/readyz',
          ca: caPem,
          headers: { authorization: `Bearer ${token}` },
          timeout: 2000,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        },
      );
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
      req.end();
    });
}

/**
 * A CA and the serving certificate it signs (for 127.0.0.1, localhost and the in-cluster names),
 * made with the openssl command: Node's crypto reads X.509 but cannot issue it. Returns the CA PEM.
 */
async function makeCertificates(pki: string): Promise<string> {
  const openssl = 'openssl';
  const file = (name: string) => path.join(pki, name);
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    await run(openssl, [
      'req',
      '-x509',
      ...ecKey,
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.crt'),
      '-days',
      '30',
      '-subj',
      '/CN=lakehouse-test-ca',
    ]);
    await run(openssl, [
      'req',
      '-new',
      ...ecKey,
      '-keyout',
      file('apiserver.key'),
      '-out',
      file('apiserver.csr'),
      '-subj',
      '/CN=kube-apiserver',
    ]);
    writeFileSync(
      file('apiserver.ext'),
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,' +
          'DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
        '',
      ].join('\n'),
    );
    await run(openssl, [
      'x509',
      '-req',
      '-in',
      file('apiserver.csr'),
      '-CA',
      file('ca.crt'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-days',
      '30',
      '-extfile',
      file('apiserver.ext'),
      '-out',
      file('apiserver.crt'),
    ]);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new Error(
        'test environment: the openssl command is missing; install it (apt-get install openssl)',
        { cause: err },
      );
    }
    throw new Error(`openssl failed to make the test certificates: ${e.stderr ?? e.message}`, { cause: err });
  }
  return readFileSync(file('ca.crt'), 'utf8');
}

/** The key pair that signs and verifies ServiceAccount tokens (TokenRequest API). */
function makeServiceAccountKeys(pki: string): void {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  writeFileSync(path.join(pki, 'sa.key'), privateKey, { mode: 0o600 });
  writeFileSync(path.join(pki, 'sa.pub'), publicKey);
}

function kubeconfigYaml(server: string, caPem: string, user: string, token: string): string {
  const ca = Buffer.from(caPem).toString('base64');
  // JSON is YAML, and quoting every value keeps user names with colons safe.
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'lakehouse-test', cluster: { server, 'certificate-authority-data': ca } }],
      users: [{ name: user, user: { token } }],
      contexts: [
        { name: 'lakehouse-test', context: { cluster: 'lakehouse-test', user, namespace: 'default' } },
      ],
      'current-context': 'lakehouse-test',
    },
    null,
    2,
  );
}

function runKubectl(
  kubectl: string,
  args: string[],
  kubeconfig: string,
  input?: string,
): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(kubectl, args, {
      env: { ...process.env, KUBECONFIG: kubeconfig },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    // A command that reads no input may exit before its stdin is closed: the EPIPE that follows
    // says nothing about the command (its exit code and output do), so it is not an error here.
    child.stdin.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') reject(err);
    });
    if (input === undefined) child.stdin.end();
    else child.stdin.end(input);
  });
}
