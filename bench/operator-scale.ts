/**
 * Operator at scale: 1,000 LakeTables (tables on local disk) settled by one operator process
 * against the real kube-apiserver of the test environment. Reports the time until every table is
 * Ready, the operator's RSS once it is ready with no tables (what its code costs), at settle, and
 * its peak (VmHWM), and fails when the peak exceeds 256 MiB.
 *
 *   npm run build && npx tsx bench/operator-scale.ts [--tables 1000] [--concurrency 8]
 *       [--node-options deployment|none|'<flags>']   default: the NODE_OPTIONS of
 *                                                    operator/deploy/base/deployment.yaml
 *       [--heap-snapshot FILE]   write a V8 heap snapshot of the operator at settle (after VmHWM
 *                                is read: writing a snapshot costs memory itself)
 *
 * Runs with tsx (it starts the API server through test/harness/kube.ts, which is not compiled).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LIMIT_MIB = 256;
const DEPLOYMENT = path.join(root, 'operator/deploy/base/deployment.yaml');

/** NODE_OPTIONS as the Deployment runs the operator (its heap cap makes V8 collect before it grows). */
function deploymentNodeOptions(): string {
  for (const doc of parseAllDocuments(readFileSync(DEPLOYMENT, 'utf8'))) {
    const d = doc.toJS() as {
      kind?: string;
      spec?: {
        template?: { spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> }> } };
      };
    };
    if (d?.kind !== 'Deployment') continue;
    const env = d.spec?.template?.spec?.containers?.[0]?.env ?? [];
    const value = env.find((e) => e.name === 'NODE_OPTIONS')?.value;
    if (value) return value;
  }
  throw new Error(`${DEPLOYMENT}: no NODE_OPTIONS in the operator container's env`);
}

function procStatusMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]) / 1024;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitReady(port: number, exited: () => boolean): Promise<void> {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    if (exited()) throw new Error('the operator exited before it was ready');
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the operator was not ready within 60 s');
}

interface ApiServer {
  kubeconfigPath: string;
  kubeConfig(): KubeConfig;
  kubectl(args: string[]): Promise<{ code: number; stderr: string }>;
  stop(): Promise<void>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tables: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '8' },
      'node-options': { type: 'string', default: 'deployment' },
      'heap-snapshot': { type: 'string' },
    },
  });
  const count = Number(values.tables);
  const requested = values['node-options'];
  const nodeOptions =
    requested === 'deployment' ? deploymentNodeOptions() : requested === 'none' ? '' : requested;
  const snapshotFile = values['heap-snapshot'] ? path.resolve(values['heap-snapshot']) : undefined;
  // A computed specifier keeps the test harness out of the compiled build.
  const harness = pathToFileURL(path.join(root, 'test/harness/kube.ts')).href;
  const { startKubeApiServer } = (await import(harness)) as { startKubeApiServer: () => Promise<ApiServer> };
  const kube = await startKubeApiServer();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'lk-opbench-'));
  let child: ReturnType<typeof spawn> | undefined;
  try {
    const crd = await kube.kubectl(['apply', '-f', path.join(root, 'operator/deploy/crd.yaml')]);
    if (crd.code !== 0) throw new Error(crd.stderr);
    await kube.kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/laketables.lakehouse.dev',
    ]);
    const port = await freePort();
    const roots = Object.fromEntries(
      ['raw', 'curated', 'models', 'scratch'].map((z) => [z, path.join(tmp, z)]),
    );
    child = spawn(
      process.execPath,
      [
        path.join(root, 'dist/operator/src/main.js'),
        `--kubeconfig=${kube.kubeconfigPath}`,
        '--no-leader-elect',
        `--port=${port}`,
        `--concurrency=${values.concurrency}`,
        `--storage-roots=${JSON.stringify({ default: roots })}`,
      ],
      {
        cwd: tmp,
        stdio: ['ignore', 'ignore', 'inherit'],
        env: {
          ...process.env,
          LOG_LEVEL: 'warn',
          NODE_OPTIONS: [nodeOptions, snapshotFile ? '--heapsnapshot-signal=SIGUSR2' : '']
            .filter(Boolean)
            .join(' '),
        },
      },
    );
    const pid = child.pid!;
    let exited = false;
    child.once('exit', () => (exited = true));
    await waitReady(port, () => exited);
    // Ready with an empty cache: what the operator's code and libraries cost before any table.
    await new Promise((r) => setTimeout(r, 1000));
    const idleRssMiB = procStatusMiB(pid, 'VmRSS');
    const api = kube.kubeConfig().makeApiClient(CustomObjectsApi);
    const started = Date.now();
    for (let i = 0; i < count; i += 25) {
      await Promise.all(
        Array.from({ length: Math.min(25, count - i) }, (_, k) => {
          const name = `bench-${String(i + k).padStart(4, '0')}`;
          return api.createNamespacedCustomObject({
            group: 'lakehouse.dev',
            version: 'v1alpha1',
            namespace: 'default',
            plural: 'laketables',
            body: {
              apiVersion: 'lakehouse.dev/v1alpha1',
              kind: 'LakeTable',
              metadata: { name },
              spec: {
                zone: 'curated',
                path: `bench/${name}`,
                schema: {
                  columns: [
                    { name: 'id', type: 'long', nullable: false },
                    { name: 'day', type: 'date', nullable: false },
                    { name: 'amount', type: 'decimal(10,2)' },
                  ],
                },
                partitionBy: ['day'],
              },
            },
          });
        }),
      );
    }
    const created = Date.now();
    let ready = 0;
    while (ready < count) {
      await new Promise((r) => setTimeout(r, 2000));
      const list = (await api.listNamespacedCustomObject({
        group: 'lakehouse.dev',
        version: 'v1alpha1',
        namespace: 'default',
        plural: 'laketables',
      })) as { items: Array<{ status?: { conditions?: Array<{ type: string; status: string }> } }> };
      ready = list.items.filter((t) =>
        t.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      ).length;
      if (Date.now() - started > 900_000) throw new Error(`only ${ready} of ${count} Ready after 15 min`);
    }
    const settled = Date.now();
    const peakMiB = procStatusMiB(pid, 'VmHWM');
    const settledRssMiB = procStatusMiB(pid, 'VmRSS');
    if (snapshotFile) {
      child.kill('SIGUSR2');
      const until = Date.now() + 120_000;
      let written: string | undefined;
      // Node names it Heap.<date>.<pid>…heapsnapshot in its cwd; it stays empty until written.
      while (!written && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 1000));
        written = readdirSync(tmp).find((f) => f.endsWith('.heapsnapshot'));
      }
      if (!written) throw new Error('the operator wrote no heap snapshot within 120 s');
      let size = -1;
      for (;;) {
        await new Promise((r) => setTimeout(r, 2000));
        const now = statSync(path.join(tmp, written)).size;
        if (now > 0 && now === size) break;
        size = now;
      }
      copyFileSync(path.join(tmp, written), snapshotFile);
      process.stderr.write(`heap snapshot: ${snapshotFile}\n`);
    }
    const result = {
      tables: count,
      concurrency: Number(values.concurrency),
      nodeOptions,
      createSeconds: (created - started) / 1000,
      settleSeconds: (settled - started) / 1000,
      tablesPerSecond: count / ((settled - started) / 1000),
      idleRssMiB: Math.round(idleRssMiB),
      settledRssMiB: Math.round(settledRssMiB),
      peakRssMiB: Math.round(peakMiB),
      limitMiB: LIMIT_MIB,
      loadAverage: os.loadavg().map((l) => Number(l.toFixed(1))),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (peakMiB > LIMIT_MIB) {
      process.stderr.write(`operator peak RSS ${peakMiB.toFixed(0)} MiB exceeds ${LIMIT_MIB} MiB\n`);
      process.exitCode = 1;
    }
  } finally {
    child?.kill('SIGTERM');
    await kube.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
