/**
 * The test environment has a real kube-apiserver but no kubelet, scheduler or Job controller, so
 * a Job never starts a Pod by itself. These helpers play that part for real: they read the Job
 * the operator created, run exactly its container's command and arguments (the `lakehouse` CLI
 * of this clone, `bin/lakehouse.js`, with the Job's environment, its `envFrom` Secret resolved
 * as the kubelet would) as a local process, then write the Job's status through the status
 * subresource as the Job controller would (startTime and active, then the Complete or Failed
 * condition with succeeded/failed and completionTime).
 *
 * What they do not reproduce: the container image (the image's `/app` is this clone and its
 * `/nodejs/bin/node` is the Node 22 running the tests) and the Pod's user (the process runs as the
 * test's user, not uid 65532).
 */
import { spawn } from 'node:child_process';
import type { KubeApiServer } from '../harness/kube.js';
import { repoRoot } from './helpers.js';

/** A Job as kubectl prints it (JSON). */
export type JobJson = {
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
    resourceVersion?: string;
    creationTimestamp?: string;
  };
  spec: any;
  status?: any;
};

export interface JobRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The command line the stand-in ran. */
  readonly argv: readonly string[];
}

/** Jobs matching a label selector, in name order. */
export async function listJobs(
  kube: KubeApiServer,
  selector: string,
  namespace = 'default',
): Promise<JobJson[]> {
  const r = await kube.kubectl(['get', 'jobs', '-n', namespace, '-l', selector, '-o', 'json']);
  if (r.code !== 0) throw new Error(`kubectl get jobs: ${r.stderr}`);
  const items = (JSON.parse(r.stdout) as { items: JobJson[] }).items;
  return items.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
}

async function getJob(kube: KubeApiServer, namespace: string, name: string): Promise<JobJson> {
  const r = await kube.kubectl(['get', 'job', '-n', namespace, name, '-o', 'json']);
  if (r.code !== 0) throw new Error(`kubectl get job ${name}: ${r.stderr}`);
  return JSON.parse(r.stdout) as JobJson;
}

async function writeStatus(
  kube: KubeApiServer,
  job: JobJson,
  status: Record<string, unknown>,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const current = await getJob(kube, job.metadata.namespace, job.metadata.name);
    current.status = status;
    const r = await kube.kubectl(['replace', '--subresource=status', '-f', '-'], {
      input: JSON.stringify(current),
    });
    if (r.code === 0) return;
    if (!/conflict|modified/i.test(r.stderr) || attempt > 5) throw new Error(`Job status write: ${r.stderr}`);
  }
}

const kubeNow = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Resolve the container's env and envFrom (Secrets, as the kubelet does) into a process environment. */
async function environmentOf(
  kube: KubeApiServer,
  namespace: string,
  container: any,
): Promise<Record<string, string>> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  for (const from of container.envFrom ?? []) {
    if (!from.secretRef) throw new Error('the kubelet stand-in resolves envFrom secretRef only');
    const r = await kube.kubectl(['get', 'secret', '-n', namespace, from.secretRef.name, '-o', 'json']);
    if (r.code !== 0) throw new Error(`envFrom Secret ${from.secretRef.name}: ${r.stderr}`);
    const data = (JSON.parse(r.stdout) as { data?: Record<string, string> }).data ?? {};
    for (const [k, v] of Object.entries(data)) env[k] = Buffer.from(v, 'base64').toString('utf8');
  }
  for (const e of container.env ?? []) {
    if (e.valueFrom) throw new Error('the kubelet stand-in resolves plain env values only');
    env[e.name] = e.value ?? '';
  }
  return env;
}

/**
 * Run Job `name` to its end: status Running, the container's command as a local process, then
 * Complete (exit 0) or, once every attempt the backoffLimit allows failed, Failed (BackoffLimitExceeded).
 */
export async function runJobAsKubelet(kube: KubeApiServer, namespace: string, name: string): Promise<JobRun> {
  const job = await getJob(kube, namespace, name);
  const container = job.spec.template.spec.containers[0];
  const startTime = kubeNow();
  await writeStatus(kube, job, { startTime, active: 1, ready: 0, terminating: 0 });

  // The image: /app is this clone (dist/ built by `npm run build`), /nodejs/bin/node is Node 22.
  const [node, ...rest] = container.command as string[];
  if (node !== '/nodejs/bin/node' || container.workingDir !== '/app')
    throw new Error(`unexpected container command ${container.command} in ${container.workingDir}`);
  const argv = [process.execPath, ...rest, ...(container.args as string[])];
  const env = await environmentOf(kube, namespace, container);
  // restartPolicy Never: a failed Pod is replaced until backoffLimit + 1 attempts have failed.
  const attempts = (job.spec.backoffLimit ?? 6) + 1;
  let failed = 0;
  let result: JobRun;
  for (;;) {
    result = await runOnce(argv, env);
    if (result.code === 0 || ++failed >= attempts) break;
  }
  const end = kubeNow();
  if (result.code === 0)
    await writeStatus(kube, job, {
      startTime,
      completionTime: end,
      active: 0,
      ready: 0,
      terminating: 0,
      succeeded: 1,
      ...(failed > 0 ? { failed } : {}),
      conditions: [
        {
          type: 'SuccessCriteriaMet',
          status: 'True',
          reason: 'CompletionsReached',
          message: 'Reached expected number of succeeded pods',
          lastProbeTime: end,
          lastTransitionTime: end,
        },
        {
          type: 'Complete',
          status: 'True',
          reason: 'CompletionsReached',
          message: 'Reached expected number of succeeded pods',
          lastProbeTime: end,
          lastTransitionTime: end,
        },
      ],
    });
  else
    await writeStatus(kube, job, {
      startTime,
      active: 0,
      ready: 0,
      terminating: 0,
      failed,
      conditions: [
        {
          type: 'FailureTarget',
          status: 'True',
          reason: 'BackoffLimitExceeded',
          message: 'Job has reached the specified backoff limit',
          lastProbeTime: end,
          lastTransitionTime: end,
        },
        {
          type: 'Failed',
          status: 'True',
          reason: 'BackoffLimitExceeded',
          message: 'Job has reached the specified backoff limit',
          lastProbeTime: end,
          lastTransitionTime: end,
        },
      ],
    });
  return result;
}

function runOnce(argv: string[], env: Record<string, string>): Promise<JobRun> {
  return new Promise<JobRun>((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr, argv }));
  });
}
