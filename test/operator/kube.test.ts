/**
 * The operator's own Kubernetes client (operator/src/kube.ts) against the real kube-apiserver:
 * every way it finds the server and authenticates (kubeconfig with a token, a client certificate,
 * a token file that is re-read when it rotates, an exec credential plugin, the in-cluster
 * ServiceAccount layout),
 * `ApiException` codes, a watch, and that no operator module loads `@kubernetes/client-node`
 * (whose import alone costs ~70 MiB of RSS).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  Watch,
  type V1Lease,
} from '../../operator/src/kube.js';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let kube: KubeApiServer;
let tmp: string;

beforeAll(async () => {
  kube = await startKubeApiServer();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'lk-kube-'));
}, 240_000);

afterAll(async () => {
  await kube?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** A kubeconfig whose user is `user` (YAML lines under `user:`), CA from a relative file. */
function kubeconfig(name: string, userLines: string[]): string {
  const dir = mkdtempSync(path.join(tmp, `${name}-`));
  writeFileSync(path.join(dir, 'ca.crt'), kube.caPem);
  const file = path.join(dir, 'config');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'current-context: other',
      'clusters:',
      '  - name: test',
      '    cluster:',
      `      server: ${kube.server}`,
      '      certificate-authority: ca.crt',
      'users:',
      '  - name: u',
      '    user:',
      ...userLines.map((l) => `      ${l}`),
      'contexts:',
      '  - name: other',
      '    context: { cluster: test, user: u, namespace: kube-system }',
      '',
    ].join('\n'),
  );
  return file;
}

async function whoCanReadLeases(kc: KubeConfig): Promise<V1Lease | null> {
  try {
    return await kc
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ namespace: 'default', name: 'does-not-exist' });
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return null;
    throw err;
  }
}

test('a kubeconfig with a token and a relative CA file: requests succeed; 404 and 401 are ApiExceptions', async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig('token', [`token: ${kube.token}`]));
  expect(kc.namespace).toBe('kube-system');
  expect(await whoCanReadLeases(kc)).toBeNull();

  const bad = new KubeConfig();
  bad.loadFromFile(kubeconfig('bad', ['token: not-a-token']));
  const err = await whoCanReadLeases(bad).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApiException);
  expect((err as ApiException).code).toBe(401);
  expect((err as ApiException).message).toMatch(/HTTP 401/);
}, 60_000);

test('a client certificate signed by the cluster CA (base64 data in the kubeconfig)', async () => {
  const dir = mkdtempSync(path.join(tmp, 'cert-'));
  const pki = path.join(kube.dir, 'pki');
  // openssl, as the harness makes the server's certificates (Node's crypto cannot issue X.509).
  execFileSync('openssl', [
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    path.join(dir, 'client.key'),
    '-out',
    path.join(dir, 'client.csr'),
    '-subj',
    '/O=system:masters/CN=cert-admin',
  ]);
  execFileSync('openssl', [
    'x509',
    '-req',
    '-in',
    path.join(dir, 'client.csr'),
    '-CA',
    path.join(pki, 'ca.crt'),
    '-CAkey',
    path.join(pki, 'ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-out',
    path.join(dir, 'client.crt'),
  ]);
  const b64 = (f: string): string => readFileSync(path.join(dir, f)).toString('base64');
  const kc = new KubeConfig();
  kc.loadFromFile(
    kubeconfig('cert', [
      `client-certificate-data: ${b64('client.crt')}`,
      `client-key-data: ${b64('client.key')}`,
    ]),
  );
  expect(await whoCanReadLeases(kc)).toBeNull();
}, 60_000);

test('a token file is read again after it rotates (projected ServiceAccount tokens)', async () => {
  const tokenFile = path.join(tmp, 'rotating-token');
  writeFileSync(tokenFile, 'expired-token\n');
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig('tokenfile', [`tokenFile: ${tokenFile}`]));
  kc.transportOf().tokenFileRereadMs = 0;
  const before = await whoCanReadLeases(kc).catch((e: unknown) => e);
  expect((before as ApiException).code).toBe(401);
  writeFileSync(tokenFile, `${kube.token}\n`);
  expect(await whoCanReadLeases(kc)).toBeNull();
}, 60_000);

test('an exec credential plugin supplies the token', async () => {
  const plugin = path.join(tmp, 'plugin.mjs');
  writeFileSync(
    plugin,
    `process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: process.env.PLUGIN_TOKEN } }));\n`,
  );
  const kc = new KubeConfig();
  kc.loadFromFile(
    kubeconfig('exec', [
      'exec:',
      '  apiVersion: client.authentication.k8s.io/v1',
      `  command: ${process.execPath}`,
      `  args: [${plugin}]`,
      `  env: [{ name: PLUGIN_TOKEN, value: ${kube.token} }]`,
    ]),
  );
  expect(await whoCanReadLeases(kc)).toBeNull();
}, 60_000);

test('in-cluster: KUBERNETES_SERVICE_HOST/PORT, the ServiceAccount CA, token and namespace files', async () => {
  const sa = mkdtempSync(path.join(tmp, 'sa-'));
  writeFileSync(path.join(sa, 'ca.crt'), kube.caPem);
  writeFileSync(path.join(sa, 'token'), kube.token);
  writeFileSync(path.join(sa, 'namespace'), 'team-a');
  const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
  process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1';
  process.env.KUBERNETES_SERVICE_PORT = String(kube.port);
  try {
    const kc = new KubeConfig();
    kc.loadFromCluster(sa);
    expect(kc.namespace).toBe('team-a');
    expect(kc.getCurrentCluster()?.server).toBe(`https://127.0.0.1:${kube.port}`);
    expect(await whoCanReadLeases(kc)).toBeNull();
  } finally {
    for (const [k, v] of [
      ['KUBERNETES_SERVICE_HOST', saved.host],
      ['KUBERNETES_SERVICE_PORT', saved.port],
    ] as const)
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
}, 60_000);

test("client-node's KubeConfig is accepted; writes, a Lease with MicroTimes, a watch with its events", async () => {
  const kc = KubeConfig.from(kube.kubeConfig());
  const leases = kc.makeApiClient(CoordinationV1Api);
  const events: string[] = [];
  let ended: unknown = 'not yet';
  const controller = await new Watch(kc).watch(
    '/apis/coordination.k8s.io/v1/namespaces/default/leases',
    { allowWatchBookmarks: true },
    (type, obj: V1Lease) => {
      if (type !== 'BOOKMARK') events.push(`${type} ${obj.metadata?.name} ${obj.spec?.holderIdentity ?? ''}`);
    },
    (err) => (ended = err),
  );
  const now = new Date().toISOString().replace(/Z$/, '000Z');
  const created = await leases.createNamespacedLease({
    namespace: 'default',
    body: {
      metadata: { name: 'kube-test' },
      spec: { holderIdentity: 'a', renewTime: now, leaseDurationSeconds: 5 },
    },
  });
  expect(created.spec?.renewTime).toBe(now);
  const conflict = await leases
    .createNamespacedLease({ namespace: 'default', body: { metadata: { name: 'kube-test' } } })
    .catch((e: unknown) => e);
  expect((conflict as ApiException).code).toBe(409);
  await leases.replaceNamespacedLease({
    namespace: 'default',
    name: 'kube-test',
    body: { ...created, spec: { ...created.spec, holderIdentity: 'b' } },
  });
  const deadline = Date.now() + 10_000;
  while (events.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(events).toEqual(['ADDED kube-test a', 'MODIFIED kube-test b']);
  controller.abort();
  while (ended === 'not yet' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(ended).toBeNull();

  const missing = await kc
    .makeApiClient(CoreV1Api)
    .readNamespacedSecret({ namespace: 'default', name: 'nope' })
    .catch((e: unknown) => e);
  expect((missing as ApiException).code).toBe(404);
}, 60_000);

test('no operator module imports @kubernetes/client-node at run time (only `import type`)', () => {
  const dir = path.join(root, 'operator/src');
  const offenders = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .filter((f) =>
      /^\s*(import|export)\s+(?!type\b)[^;]*from\s+'@kubernetes\/client-node/m.test(
        readFileSync(path.join(dir, f), 'utf8'),
      ),
    );
  expect(offenders).toEqual([]);
});
