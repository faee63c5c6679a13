import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { createWriteStream, mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Start real server processes on free 127.0.0.1 ports for the tests, wait until they answer, and
 * stop them (and their children: each runs in its own process group) when the tests end, also
 * after a failure or when the test process exits.
 */
export interface RunningServer {
  name: string;
  host: string;
  port: number;
  /** e.g. http://127.0.0.1:PORT */
  endpoint: string;
  /** Folder for the server's data and its log file. */
  dir: string;
  logFile: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface ServerSpec {
  name: string;
  command: string;
  /** Arguments; receives the chosen port and a fresh data folder. */
  args: (port: number, dir: string) => string[];
  env?: NodeJS.ProcessEnv;
  /** Resolves when the server is ready; default: TCP connect succeeds. */
  ready?: (port: number) => Promise<boolean>;
  /** Give up after this long (ms). Default 60 s. */
  startTimeoutMs?: number;
  /** Use this port instead of a free one (e.g. to restart a server on its old port). */
  port?: number;
  /** Reuse this folder (restart with the same data). */
  dir?: string;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) killGroup(child, 'SIGKILL');
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function tcpReady(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port }, () => {
      sock.destroy();
      resolve(true);
    });
    sock.on('error', () => resolve(false));
    sock.setTimeout(1000, () => {
      sock.destroy();
      resolve(false);
    });
  });
}

/** Ready when an HTTP GET of `path` answers with any status below 500 (or one of `okStatuses`). */
export function httpReady(pathname: string, okStatuses?: number[]): (port: number) => Promise<boolean> {
  return async (port) => {
    try {
      const res = await fetch(`http://127.0.0.1:${port}${pathname}`, { signal: AbortSignal.timeout(2000) });
      return okStatuses ? okStatuses.includes(res.status) : res.status < 500;
    } catch {
      return false;
    }
  };
}

export async function startServer(spec: ServerSpec): Promise<RunningServer> {
  installExitHook();
  const port = spec.port ?? (await freePort());
  const dir = spec.dir ?? mkdtempSync(path.join(os.tmpdir(), `lk-${spec.name}-`));
  const logFile = path.join(dir, `${spec.name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(spec.command, spec.args(port, dir), {
    env: { ...process.env, ...spec.env },
    detached: true, // own process group, so stop() takes its children too
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  running.add(child);
  let exited: { code: number | null; signal: string | null } | undefined;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
    running.delete(child);
  });
  const spawnError = new Promise<Error>((resolve) => child.on('error', resolve));

  const ready = spec.ready ?? tcpReady;
  const deadline = Date.now() + (spec.startTimeoutMs ?? 60_000);
  for (;;) {
    const err = await Promise.race([
      spawnError,
      new Promise<undefined>((r) => setTimeout(r, 200, undefined)),
    ]);
    if (err) throw new Error(`${spec.name}: could not start ${spec.command}: ${err.message}`);
    if (exited) {
      throw new Error(
        `${spec.name} exited during start-up (code ${exited.code}, signal ${exited.signal}); see ${logFile}`,
      );
    }
    if (await ready(port)) break;
    if (Date.now() > deadline) {
      killGroup(child, 'SIGKILL');
      throw new Error(
        `${spec.name} did not become ready on port ${port} within ${spec.startTimeoutMs ?? 60_000} ms; see ${logFile}`,
      );
    }
  }

  const stop = async (): Promise<void> => {
    if (exited) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
    log.end();
  };
  return {
    name: spec.name,
    host: '127.0.0.1',
    port,
    endpoint: `http://127.0.0.1:${port}`,
    dir,
    logFile,
    process: child,
    stop,
  };
}
