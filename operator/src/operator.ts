/**
 * One operator process: the HTTP endpoints (/metrics, /healthz, /readyz), leader election, and
 * the controller, which runs only while this process leads. Losing the Lease stops the
 * controller (no new work; the reconciles in progress finish: each Delta commit is atomic and
 * conflict-checked, so a commit racing the new leader fails cleanly instead of corrupting the table).
 */
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';
import type { StorageRoots } from '../../lib/spec/index.js';
import type { StorageOptions } from '../../lib/storage/index.js';
import { LakeTableController } from './controller.js';
import type { JobSettings } from './jobs.js';
import { KubeConfig, type KubeConfigSource } from './kube.js';
import { LeaderElector } from './leader.js';
import { resolveMemoryBudget } from './memory.js';
import { OperatorMetrics } from './metrics.js';

export interface OperatorOptions {
  /** Where the API server is and who we are: ./kube.js's KubeConfig, or client-node's. */
  readonly kubeConfig: KubeConfigSource;
  readonly storageRoots: StorageRoots;
  readonly storageOptions?: StorageOptions;
  /** Watch one namespace; default all. */
  readonly namespace?: string;
  /** Tables reconciled at the same time. Default 4. */
  readonly concurrency?: number;
  /** Default 10 min. */
  readonly resyncMs?: number;
  /** Default 30 s. */
  readonly dueRequeueMs?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Port of /metrics, /healthz, /readyz; 0 picks a free one; null: no HTTP server. Default 8080. */
  readonly port?: number | null;
  /** Leader election; undefined: this process always leads (one replica, tests). */
  readonly leaderElection?: {
    readonly namespace: string;
    /** Default `lakehouse-operator`. */
    readonly name?: string;
    readonly leaseDurationMs?: number;
    readonly renewDeadlineMs?: number;
    readonly retryPeriodMs?: number;
  };
  /** Compactions above `jobs.thresholdBytes` run as Kubernetes Jobs; undefined: all in-process. */
  readonly jobs?: JobSettings;
  /**
   * The container's memory limit (`1Gi`, bytes); compaction gets `MAINTENANCE_MEMORY_SHARE` of
   * it. Default: `$LAKEHOUSE_MEMORY_LIMIT` (the Downward API), else the cgroup's limit (memory.ts).
   */
  readonly memoryLimit?: string | number;
  /** List each table for orphan files (health) at most this often. Default 1 h. */
  readonly healthListIntervalMs?: number;
  /** Unique name of this process. Default `$POD_NAME`, else `<hostname>-<pid>`. */
  readonly identity?: string;
  /** Default: JSON logs on stdout at `$LOG_LEVEL` (info). */
  readonly log?: Logger;
  /** Called when leadership is lost (main exits so the Deployment restarts it as a follower). */
  readonly onLostLeadership?: () => void;
}

export interface RunningOperator {
  readonly identity: string;
  readonly metrics: OperatorMetrics;
  /** The HTTP port, or null without a server. */
  readonly port: number | null;
  /** The controller while leading, else null. */
  readonly controller: () => LakeTableController | null;
  readonly isLeader: () => boolean;
  /** Stop leading (releasing the Lease), finish in-flight work, close the HTTP server. Idempotent. */
  stop(): Promise<void>;
}

export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const identity = options.identity ?? process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
  const log =
    options.log ??
    pino({ level: process.env.LOG_LEVEL ?? 'info', base: { component: 'lakehouse-operator', identity } });
  const metrics = new OperatorMetrics();
  const memory = resolveMemoryBudget(
    options.memoryLimit !== undefined ? { configured: options.memoryLimit } : {},
  );
  if (memory) metrics.maintenanceMemoryBudget.set(memory.budget);
  log.info(
    memory
      ? { memoryLimit: memory.limit, memoryBudget: memory.budget, source: memory.source }
      : { memoryLimit: null },
    memory ? 'compaction memory budget' : 'no memory limit known: compaction runs without one',
  );
  const kubeConfig = KubeConfig.from(options.kubeConfig);
  let controller: LakeTableController | null = null;
  let starting: Promise<void> = Promise.resolve();
  let leading = false;
  let stopped = false;

  const startController = (): void => {
    leading = true;
    metrics.leader.set(1);
    const c = new LakeTableController({
      ...options,
      kubeConfig,
      identity,
      log,
      metrics,
      ...(memory ? { memoryBudget: memory.budget } : {}),
    });
    controller = c;
    starting = c
      .start()
      .catch((err) => log.error({ err: (err as Error).message }, 'controller failed to start'));
  };
  const stopController = async (): Promise<void> => {
    leading = false;
    metrics.leader.set(0);
    const c = controller;
    controller = null;
    await starting;
    await c?.stop();
  };

  let server: Server | null = null;
  let port: number | null = null;
  if (options.port !== null) {
    server = createServer((req, res) => {
      const url = req.url ?? '/';
      if (url.startsWith('/metrics')) {
        metrics.registry
          .metrics()
          .then((body) => {
            res.writeHead(200, { 'content-type': metrics.registry.contentType });
            res.end(body);
          })
          .catch((err) => {
            res.writeHead(500);
            res.end(String(err));
          });
      } else if (url.startsWith('/healthz')) {
        res.writeHead(stopped ? 503 : 200, { 'content-type': 'text/plain' });
        res.end(stopped ? 'stopping\n' : 'ok\n');
      } else if (url.startsWith('/readyz')) {
        // A follower is ready (standing by); a leader once its cache is filled.
        const ready = !stopped && (!leading || (controller?.informer.hasSynced ?? false));
        res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' });
        res.end(ready ? 'ok\n' : 'not ready\n');
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(options.port ?? 8080, () => resolve());
    });
    const address = server.address();
    port = typeof address === 'object' && address ? address.port : null;
  }

  let elector: LeaderElector | null = null;
  if (options.leaderElection) {
    elector = new LeaderElector(kubeConfig, {
      namespace: options.leaderElection.namespace,
      name: options.leaderElection.name ?? 'lakehouse-operator',
      identity,
      leaseDurationMs: options.leaderElection.leaseDurationMs,
      renewDeadlineMs: options.leaderElection.renewDeadlineMs,
      retryPeriodMs: options.leaderElection.retryPeriodMs,
      log,
      onStartedLeading: startController,
      onStoppedLeading: () => {
        void stopController().then(() => {
          if (!stopped) options.onLostLeadership?.();
        });
      },
    });
    elector.start();
  } else {
    startController();
    await starting;
  }

  return {
    identity,
    metrics,
    port,
    controller: () => controller,
    isLeader: () => leading,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (elector) await elector.stop();
      await stopController();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    },
  };
}
