/**
 * `node dist/operator/src/main.js`: the operator's entry point (the container's command).
 *
 * Configuration, flags first, then environment:
 *   --config FILE / LAKEHOUSE_OPERATOR_CONFIG   JSON or YAML (a mounted ConfigMap):
 *       { storageRoots: { default: { raw: "s3://acme-raw", … } }, storageOptions: { region: … },
 *         namespace, concurrency, resyncSeconds, dueRequeueSeconds }
 *   --storage-roots JSON / LAKEHOUSE_STORAGE_ROOTS   overrides config.storageRoots
 *   --namespace NS / WATCH_NAMESPACE                 watch one namespace (default: all)
 *   --port N (8080), --concurrency N (4), --resync-seconds N (600)
 *   --leader-elect / --no-leader-elect (on), --lease-namespace NS (POD_NAMESPACE),
 *   --lease-name NAME (lakehouse-operator), --lease-duration-seconds N (15),
 *   --renew-deadline-seconds N (10), --retry-period-seconds N (2)
 *   --kubeconfig FILE / KUBECONFIG (else in-cluster ServiceAccount)
 *   --memory-limit SIZE / config memoryLimit: the container's limit (default: LAKEHOUSE_MEMORY_LIMIT
 *       from the Downward API, else the cgroup's); compaction gets 80% of it (memory.ts)
 *   --health-list-interval-seconds N / config healthListIntervalSeconds (3600): how often each
 *       table is listed for orphan files
 *   --job-image IMAGE / LAKEHOUSE_JOB_IMAGE / config.jobs.image: compactions rewriting more than
 *       --job-threshold SIZE (config.jobs.threshold, default 1GiB) run as Kubernetes Jobs of this
 *       image (the operator's own); config.jobs also takes the fields of JobSettings (jobs.ts).
 *       Without an image every compaction runs in the operator process.
 * Credentials never come from here: workload identity, or a Secret named by spec.storageSecretRef.
 * SIGTERM / SIGINT: release the Lease, finish in-flight reconciles, exit 0.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import pino from 'pino';
import { parse as parseYaml } from 'yaml';
import { parseSize } from '../../lib/cli/args.js';
import type { StorageRoots } from '../../lib/spec/index.js';
import { KubeConfig } from './kube.js';
import type { JobSettings } from './jobs.js';
import { startOperator } from './operator.js';

interface FileConfig {
  storageRoots?: StorageRoots;
  storageOptions?: Record<string, string>;
  namespace?: string;
  concurrency?: number;
  resyncSeconds?: number;
  dueRequeueSeconds?: number;
  memoryLimit?: string | number;
  healthListIntervalSeconds?: number;
  jobs?: Partial<JobSettings> & { threshold?: string };
}

const SECRET_KEY = /secret|password|token|key$|sas|credential/i;

async function main(argv: string[]): Promise<void> {
  const program = new Command('lakehouse-operator')
    .option('--config <file>', 'operator configuration (JSON or YAML)', process.env.LAKEHOUSE_OPERATOR_CONFIG)
    .option('--storage-roots <json>', 'zone roots per storage, JSON', process.env.LAKEHOUSE_STORAGE_ROOTS)
    .option('--namespace <ns>', 'watch one namespace (default all)', process.env.WATCH_NAMESPACE || undefined)
    .option('--port <n>', 'port of /metrics, /healthz, /readyz', '8080')
    .option('--concurrency <n>', 'tables reconciled at the same time')
    .option('--resync-seconds <n>', 'reconcile every table at least this often')
    .option('--no-leader-elect', 'run without a Lease (one replica only)')
    .option('--lease-namespace <ns>', 'namespace of the Lease', process.env.POD_NAMESPACE)
    .option('--lease-name <name>', 'name of the Lease', 'lakehouse-operator')
    .option('--lease-duration-seconds <n>', 'lease duration', '15')
    .option('--renew-deadline-seconds <n>', 'leader steps down after failing to renew this long', '10')
    .option('--retry-period-seconds <n>', 'between Lease attempts', '2')
    .option('--identity <id>', 'unique name of this replica', process.env.POD_NAME)
    .option('--kubeconfig <file>', 'kubeconfig (default: in-cluster, or KUBECONFIG)')
    .option(
      '--memory-limit <size>',
      "the container's memory limit, e.g. 1Gi (default: $LAKEHOUSE_MEMORY_LIMIT, else the cgroup's)",
    )
    .option(
      '--health-list-interval-seconds <n>',
      'list each table for orphan files at most this often (3600)',
    )
    .option(
      '--job-image <image>',
      'run large compactions as Jobs of this image',
      process.env.LAKEHOUSE_JOB_IMAGE,
    )
    .option('--job-threshold <size>', 'compactions rewriting more than this run as Jobs (default 1GiB)');
  program.parse(argv, { from: 'user' });
  const o = program.opts<Record<string, string | boolean | undefined>>();
  const log = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { component: 'lakehouse-operator' } });

  const file: FileConfig = o.config
    ? ((parseYaml(readFileSync(String(o.config), 'utf8')) as FileConfig) ?? {})
    : {};
  const storageRoots: StorageRoots = o.storageRoots
    ? (JSON.parse(String(o.storageRoots)) as StorageRoots)
    : (file.storageRoots ?? {});
  const storageOptions = file.storageOptions ?? {};
  const secretLike = Object.keys(storageOptions).filter((k) => SECRET_KEY.test(k));
  if (secretLike.length > 0)
    throw new Error(
      `operator config: storageOptions ${secretLike.join(', ')} look like credentials; use workload identity or a Secret named in spec.storageSecretRef`,
    );
  const jobImage = (o.jobImage as string | undefined) ?? file.jobs?.image;
  const jobThreshold = (o.jobThreshold as string | undefined) ?? file.jobs?.threshold;
  const jobs: JobSettings | undefined = jobImage
    ? {
        ...file.jobs,
        image: jobImage,
        ...(jobThreshold !== undefined ? { thresholdBytes: parseSize(jobThreshold, '--job-threshold') } : {}),
      }
    : undefined;
  const kc = new KubeConfig();
  if (o.kubeconfig) kc.loadFromFile(String(o.kubeconfig));
  else kc.loadFromDefault();
  const num = (v: unknown, d: number | undefined): number | undefined => (v === undefined ? d : Number(v));
  const seconds = (v: unknown, d: number): number => Number(v ?? d) * 1000;

  let leaderElection;
  if (o.leaderElect !== false) {
    const ns = o.leaseNamespace ? String(o.leaseNamespace) : undefined;
    if (!ns)
      throw new Error('leader election needs --lease-namespace or POD_NAMESPACE (or --no-leader-elect)');
    leaderElection = {
      namespace: ns,
      name: String(o.leaseName),
      leaseDurationMs: seconds(o.leaseDurationSeconds, 15),
      renewDeadlineMs: seconds(o.renewDeadlineSeconds, 10),
      retryPeriodMs: seconds(o.retryPeriodSeconds, 2),
    };
  }
  const operator = await startOperator({
    kubeConfig: kc,
    storageRoots,
    storageOptions,
    namespace: (o.namespace as string | undefined) ?? file.namespace,
    concurrency: num(o.concurrency, file.concurrency),
    resyncMs: (num(o.resyncSeconds, file.resyncSeconds) ?? 600) * 1000,
    dueRequeueMs: (file.dueRequeueSeconds ?? 30) * 1000,
    port: Number(o.port),
    leaderElection,
    ...((o.memoryLimit ?? file.memoryLimit) !== undefined
      ? { memoryLimit: (o.memoryLimit as string | undefined) ?? file.memoryLimit }
      : {}),
    healthListIntervalMs: (num(o.healthListIntervalSeconds, file.healthListIntervalSeconds) ?? 3600) * 1000,
    ...(jobs ? { jobs } : {}),
    identity: o.identity as string | undefined,
    log: log.child({ identity: o.identity ?? undefined }),
    onLostLeadership: () => {
      log.warn('lost leadership: exiting so the replica restarts as a follower');
      process.exit(1);
    },
  });
  log.info(
    { port: operator.port, identity: operator.identity, storages: Object.keys(storageRoots) },
    'operator started',
  );
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 25_000);
    force.unref();
    void operator.stop().then(() => {
      log.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`lakehouse-operator: ${(err as Error).message}\n`);
  process.exit(2);
});
