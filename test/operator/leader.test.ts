/**
 * Two operator processes (the built `dist/operator/src/main.js`, as the container runs it), each
 * as the ServiceAccount with only the RBAC of operator/deploy/base/rbac.yaml: one holds the Lease
 * and reconciles, the other stands by; SIGKILL the leader and the other takes over within the
 * lease duration; SIGTERM releases the Lease and exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CoordinationV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { localStorageRoots } from '../../lib/spec/index.js';
import type { KubeApiServer } from '../harness/kube.js';
import { createTable, lakeTable, repoRoot, startWithCrd, waitFor, waitReady } from './helpers.js';

const main = path.join(repoRoot, 'dist/operator/src/main.js');
const LEASE_SECONDS = 4;

interface Proc {
  identity: string;
  child: ChildProcess;
  lines: Array<Record<string, any>>;
  exit: Promise<number | null>;
}

let kube: KubeApiServer;
let tmp: string;
const procs: Proc[] = [];

beforeAll(async () => {
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first`);
  kube = await startWithCrd();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'lk-leader-'));
  for (const file of ['namespace.yaml', 'serviceaccount.yaml', 'rbac.yaml']) {
    const r = await kube.kubectl(['apply', '-f', path.join(repoRoot, 'operator/deploy/base', file)]);
    if (r.code !== 0) throw new Error(r.stderr);
  }
}, 240_000);

afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await kube?.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

async function startProcess(identity: string, kubeconfigPath: string): Promise<Proc> {
  const child = spawn(
    process.execPath,
    [
      main,
      `--kubeconfig=${kubeconfigPath}`,
      `--storage-roots=${JSON.stringify(localStorageRoots(path.join(tmp, 'data')))}`,
      '--lease-namespace=lakehouse-system',
      `--identity=${identity}`,
      '--port=0',
      `--lease-duration-seconds=${LEASE_SECONDS}`,
      '--renew-deadline-seconds=3',
      '--retry-period-seconds=0.5',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } },
  );
  const proc: Proc = {
    identity,
    child,
    lines: [],
    exit: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
  let buffer = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      try {
        const entry = JSON.parse(line);
        // Warnings and errors of the operators show in the test output.
        if (entry.level >= 40) process.stderr.write(`${identity}: ${line}\n`);
        proc.lines.push(entry);
      } catch {
        proc.lines.push({ msg: line });
      }
    }
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.on('exit', (code) => {
    if (code !== 0 && code !== null && stderr) process.stderr.write(`${identity}: ${stderr}\n`);
  });
  procs.push(proc);
  return proc;
}

const reconciled = (p: Proc) => p.lines.filter((l) => l.msg === 'reconciled');

test('only the leader reconciles; when it dies the other takes over within the lease duration', async () => {
  const sa = await kube.serviceAccountToken('lakehouse-system', 'lakehouse-operator');
  const leases = kube.kubeConfig().makeApiClient(CoordinationV1Api);
  const api = kube.kubeConfig().makeApiClient(CustomObjectsApi);
  const holder = async () =>
    (await leases.readNamespacedLease({ namespace: 'lakehouse-system', name: 'lakehouse-operator' })).spec
      ?.holderIdentity;

  const a = await startProcess('op-a', sa.kubeconfigPath);
  await waitFor('op-a to lead', async () => (await holder()) === 'op-a', 60_000);
  const b = await startProcess('op-b', sa.kubeconfigPath);
  await waitFor('op-b to start', () => b.lines.some((l) => l.msg === 'operator started'), 60_000);

  for (const name of ['lead-1', 'lead-2', 'lead-3']) await createTable(api, lakeTable(name));
  for (const name of ['lead-1', 'lead-2', 'lead-3']) await waitReady(api, name);
  expect(new Set(reconciled(a).map((l) => l.table))).toEqual(
    new Set(['default/lead-1', 'default/lead-2', 'default/lead-3']),
  );
  expect(reconciled(b)).toHaveLength(0);
  expect(await holder()).toBe('op-a');

  a.child.kill('SIGKILL');
  const killedAt = Date.now();
  await a.exit;
  await createTable(api, lakeTable('lead-4'));
  await waitFor('op-b to lead', async () => (await holder()) === 'op-b', 30_000);
  const takeover = Date.now() - killedAt;
  // The Lease expires LEASE_SECONDS after the last renewal this process saw; polling adds ~0.5 s.
  expect(takeover).toBeLessThan((LEASE_SECONDS + 2) * 1000);
  await waitReady(api, 'lead-4');
  expect(reconciled(b).map((l) => l.table)).toContain('default/lead-4');
  expect(reconciled(b).every((l) => l.time >= killedAt)).toBe(true);
  process.stdout.write(`leader takeover after SIGKILL: ${takeover} ms (lease ${LEASE_SECONDS} s)\n`);

  // SIGTERM: in-flight work finishes, the Lease is released, exit 0.
  b.child.kill('SIGTERM');
  expect(await b.exit).toBe(0);
  expect(await holder()).toBeFalsy();
  expect(b.lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutting down', 'stopped']));
});
