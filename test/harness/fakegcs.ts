import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { cacheDir, requireTool } from './env.js';
import { pinnedVersion } from './pinned.js';
import { httpReady, startServer, type RunningServer } from './server.js';

/** A fake-gcs-server with one bucket, and the storage options that reach it. */
export interface FakeGcsServer {
  server: RunningServer;
  endpoint: string;
  bucket: string;
  /** delta-rs style options for `openStore` / `--storage-option`. */
  storageOptions: Record<string, string>;
  /** `gs://bucket/<prefix>`; a fresh random prefix when none is given. */
  uri(prefix?: string): string;
  stop(): Promise<void>;
}

export function fakeGcsBinary(): string {
  const version = pinnedVersion('40-fake-gcs.sh', 'FAKE_GCS_VERSION');
  return requireTool(
    `fake-gcs-server ${version}`,
    path.join(cacheDir(), 'fake-gcs-server', version, 'fake-gcs-server'),
  );
}

/** Start fake-gcs-server (HTTP, file-system backend) on a free 127.0.0.1 port and create a bucket. */
export async function startFakeGcs(opts: { bucket?: string } = {}): Promise<FakeGcsServer> {
  const command = fakeGcsBinary();
  const server = await startServer({
    name: 'fake-gcs',
    command,
    args: (port, dir) => [
      '-scheme',
      'http',
      '-host',
      '127.0.0.1',
      '-port',
      String(port),
      '-backend',
      'filesystem',
      '-filesystem-root',
      path.join(dir, 'data'),
      '-public-host',
      `127.0.0.1:${port}`,
      '-external-url',
      `http://127.0.0.1:${port}`,
      '-log-level',
      'warn',
    ],
    ready: httpReady('/storage/v1/b', [200]),
  });
  const bucket = opts.bucket ?? 'lakehouse-test';
  const res = await fetch(`${server.endpoint}/storage/v1/b?project=emulator`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: bucket }),
  });
  if (!res.ok)
    throw new Error(`fake-gcs-server: creating bucket ${bucket} failed: ${res.status} ${await res.text()}`);
  return {
    server,
    endpoint: server.endpoint,
    bucket,
    storageOptions: { STORAGE_EMULATOR_HOST: server.endpoint },
    uri: (prefix) => `gs://${bucket}/${prefix ?? randomUUID()}`,
    stop: () => server.stop(),
  };
}
