/**
 * Scenario 5 (part): the operator's RBAC is exactly what it uses. kube-apiserver writes an audit
 * log of every request the operator's ServiceAccount makes (audit policy: Metadata for that user,
 * nothing else) while one operator process, as that ServiceAccount with only
 * operator/deploy/base/rbac.yaml, runs the leader-election test's flow: take the Lease, reconcile a
 * LakeTable to Ready, handle its deletion (finalizer), release the Lease on SIGTERM. Then every
 * (group, resource, verb) it used is granted by operator/src/rbac.ts (which deploy.test.ts
 * compares with rbac.yaml) in the right scope, none was refused, and every granted verb was used
 * or is listed in NOT_REACHED with the reason this flow cannot reach it. Its token (the flow's
 * secret) appears neither in the operator's log nor in the LakeTable's status.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fs, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { localStorageRoots } from '../../lib/spec/index.js';
import { OPERATOR_PERMISSIONS } from '../../operator/src/rbac.js';
import type { KubeApiServer } from '../harness/kube.js';
import {
  createTable,
  GROUP,
  getTable,
  lakeTable,
  PLURAL,
  repoRoot,
  startWithCrd,
  VERSION,
  waitFor,
  waitReady,
} from '../operator/helpers.js';

const USER = 'system:serviceaccount:lakehouse-system:lakehouse-operator';
const main = path.join(repoRoot, 'dist/operator/src/main.js');

/** Granted permissions this flow cannot reach, and why (`group/resource verb`). */
const NOT_REACHED: Record<string, string> = {
  'lakehouse.dev/laketables/finalizers update':
    'not a request: the OwnerReferencesPermissionEnforcement admission plugin checks it when the operator sets blockOwnerDeletion on an object it owns',
  '/secrets get':
    'credentials.ts reads a Secret only for a LakeTable whose cloud storage names one; this flow uses local storage',
  'batch/jobs create':
    'jobs.ts creates Jobs only for a compaction above --job-threshold; this flow compacts nothing (its Job cache, list and watch, runs here)',
};

interface AuditEvent {
  stage: string;
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; apiGroup?: string };
  responseStatus?: { code: number };
}

let kube: KubeApiServer;
let tmp: string;

beforeAll(async () => {
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first`);
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lk-rbac-audit-'));
  const policy = path.join(tmp, 'audit-policy.yaml');
  writeFileSync(
    policy,
    [
      'apiVersion: audit.k8s.io/v1',
      'kind: Policy',
      'omitStages: [RequestReceived]',
      'rules:',
      '  - level: Metadata',
      `    users: ["${USER}"]`,
      '  - level: None',
      '',
    ].join('\n'),
  );
  kube = await startWithCrd({
    extraApiServerArgs: [
      `--audit-policy-file=${policy}`,
      `--audit-log-path=${path.join(tmp, 'audit.log')}`,
      '--audit-log-format=json',
      '--audit-log-mode=blocking',
    ],
  });
  for (const file of ['namespace.yaml', 'serviceaccount.yaml', 'rbac.yaml']) {
    const r = await kube.kubectl(['apply', '-f', path.join(repoRoot, 'operator/deploy/base', file)]);
    if (r.code !== 0) throw new Error(r.stderr);
  }
}, 240_000);

afterAll(async () => {
  await kube?.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

test('every verb the operator uses is granted, and every granted verb is used or listed with a reason', async () => {
  const sa = await kube.serviceAccountToken('lakehouse-system', 'lakehouse-operator');
  const api = kube.kubeConfig().makeApiClient(CustomObjectsApi);
  const child = spawn(
    process.execPath,
    [
      main,
      `--kubeconfig=${sa.kubeconfigPath}`,
      `--storage-roots=${JSON.stringify(localStorageRoots(path.join(tmp, 'data')))}`,
      '--lease-namespace=lakehouse-system',
      '--identity=audit-op',
      '--port=0',
      '--lease-duration-seconds=4',
      '--renew-deadline-seconds=3',
      '--retry-period-seconds=0.5',
      // Jobs on: the Job cache (list + watch of batch/jobs) is part of the flow.
      '--job-image=ghcr.io/lakehouse-kit/lakehouse-operator:test',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } },
  );
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let ready: unknown;
  try {
    await createTable(api, lakeTable('audit-1'));
    // Generous: the operator's first start is slow on two busy cores.
    ready = await waitReady(api, 'audit-1', 'True', 180_000);
    await api.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'default',
      plural: PLURAL,
      name: 'audit-1',
    });
    await waitFor('LakeTable audit-1 to be gone', async () => !(await getTable(api, 'audit-1')), 180_000);
  } catch (err) {
    throw new Error(`${String(err)}; operator output:\n${output.slice(-3000)}`, { cause: err });
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);

  const events = readFileSync(path.join(tmp, 'audit.log'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as AuditEvent)
    // A watch is logged at ResponseStarted when it opens; its ResponseComplete comes when it closes,
    // which can reach the log after the operator exited (a watch went missing so once in CI).
    .filter(
      (e) => e.user.username === USER && (e.stage === 'ResponseComplete' || e.stage === 'ResponseStarted'),
    );
  expect(events.length).toBeGreaterThan(0);
  const refused = events.filter((e) => e.responseStatus?.code === 403);
  expect(refused.map((e) => `${e.verb} ${e.objectRef?.resource}`)).toEqual([]);

  const key = (group: string, resource: string, verb: string) => `${group}/${resource} ${verb}`;
  const granted = new Map<string, (typeof OPERATOR_PERMISSIONS)[number]>();
  for (const p of OPERATOR_PERMISSIONS) for (const v of p.verbs) granted.set(key(p.group, p.resource, v), p);
  const used = new Map<string, Set<string>>();
  for (const e of events) {
    const ref = e.objectRef ?? {};
    // Discovery and non-resource URLs (/api, /apis, /version) need no RBAC rule of ours.
    if (!ref.resource) continue;
    const resource = ref.subresource ? `${ref.resource}/${ref.subresource}` : ref.resource;
    const k = key(ref.apiGroup ?? '', resource, e.verb);
    if (!used.has(k)) used.set(k, new Set());
    used.get(k)!.add(ref.namespace ?? '(cluster)');
  }
  // Every used verb is granted, in its scope.
  expect([...used.keys()].filter((k) => !granted.has(k))).toEqual([]);
  for (const [k, namespaces] of used) {
    const p = granted.get(k)!;
    if (p.scope === 'operator-namespace') expect([k, [...namespaces]]).toEqual([k, ['lakehouse-system']]);
    if (p.scope === 'tenant-namespace')
      expect([k, [...namespaces].includes('(cluster)')]).toEqual([k, false]);
  }
  // Every granted verb is used, or this flow cannot reach it (and says why).
  const unused = [...granted.keys()].filter((k) => !used.has(k));
  expect(unused.filter((k) => !(k in NOT_REACHED))).toEqual([]);
  // NOT_REACHED names only permissions still granted and still unused here.
  expect(Object.keys(NOT_REACHED).filter((k) => granted.has(k) && used.has(k))).toEqual([]);
  process.stdout.write(
    `rbac audit: ${events.length} requests; used ${[...used.keys()].sort().join(', ')}; not reached ${unused.sort().join(', ')}\n`,
  );
  if (!output.includes('operator started')) throw new Error(`operator output: ${output.slice(0, 2000)}`);
  // No secret in the logs or the status: the ServiceAccount token is this flow's secret.
  expect(output).not.toContain(sa.token);
  expect(JSON.stringify(ready)).not.toContain(sa.token);
}, 300_000);
