/**
 * Operator at scale: 1,000 LakeTables (tables on local disk) settled by one operator process
 * against the real kube-apiserver of the test environment. Reports the time until every table is
 * Ready and the operator's peak RSS (VmHWM), and fails when the peak exceeds 256 MiB.
 *
 *   npm run build && npx tsx bench/operator-scale.ts [--tables 1000] [--concurrency 8]
 *
 * Runs with tsx (it starts the API server through test/harness/kube.ts, which is not compiled).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LIMIT_MIB = 256;
/** As operator/deploy/base/deployment.yaml runs it: a heap cap makes V8 collect before it grows. */
const DEPLOYMENT_NODE_OPTIONS = '--max-old-space-size=192';

interface ApiServer {
  kubeconfigPath: string;
  kubeConfig(): KubeConfig;
  kubectl(args: string[]): Promise<{ code: number; stderr: string }>;
  stop(): Promise<void>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { tables: { type: 'string', default: '1000' }, concurrency: { type: 'string', default: '8' } },
  });
  const count = Number(values.tables);
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
    const roots = Object.fromEntries(
      ['raw', 'curated', 'models', 'scratch'].map((z) => [z, path.join(tmp, z)]),
    );
    child = spawn(
      process.execPath,
      [
        path.join(root, 'dist/operator/src/main.js'),
        `--kubeconfig=${kube.kubeconfigPath}`,
        '--no-leader-elect',
        '--port=0',
        `--concurrency=${values.concurrency}`,
        `--storage-roots=${JSON.stringify({ default: roots })}`,
      ],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: {
          ...process.env,
          LOG_LEVEL: 'warn',
          NODE_OPTIONS: DEPLOYMENT_NODE_OPTIONS,
        },
      },
    );
    const pid = child.pid!;
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
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const peakMiB = Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
    const result = {
      tables: count,
      concurrency: Number(values.concurrency),
      createSeconds: (created - started) / 1000,
      settleSeconds: (settled - started) / 1000,
      tablesPerSecond: count / ((settled - started) / 1000),
      peakRssMiB: Math.round(peakMiB),
      limitMiB: LIMIT_MIB,
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
