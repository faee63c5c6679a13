import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { cacheDir, requireTool } from './env.js';
import { pinnedVersion } from './pinned.js';
import { freePort, httpReady, startServer, type RunningServer } from './server.js';

/** A MinIO server with one bucket, and the storage options that reach it. */
export interface MinioServer {
  server: RunningServer;
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** delta-rs style options for `openStore` / `--storage-option`. */
  storageOptions: Record<string, string>;
  /** `s3://bucket/<prefix>`; a fresh random prefix when none is given. */
  uri(prefix?: string): string;
  stop(): Promise<void>;
}

export function minioBinary(): string {
  const version = pinnedVersion('20-minio.sh', 'MINIO_VERSION');
  return requireTool(`MinIO ${version}`, path.join(cacheDir(), 'minio', version, 'minio'));
}

/** Start MinIO (single drive) on free 127.0.0.1 ports and create a bucket. */
export async function startMinio(opts: { region?: string; bucket?: string } = {}): Promise<MinioServer> {
  const command = minioBinary();
  const accessKeyId = 'lakehouse';
  const secretAccessKey = 'lakehouse-secret-key';
  const region = opts.region ?? 'us-east-1';
  // Free ports are picked, then bound by MinIO: a server starting at the same moment in the other
  // jest worker can take one in between (seen once in CI). Pick new ports and start again.
  const startOnFreePorts = async (attempt: number): Promise<RunningServer> => {
    const consolePort = await freePort();
    try {
      return await startServer({
        name: 'minio',
        command,
        args: (port, dir) => [
          'server',
          '--quiet',
          '--address',
          `127.0.0.1:${port}`,
          '--console-address',
          `127.0.0.1:${consolePort}`,
          path.join(dir, 'data'),
        ],
        env: {
          MINIO_ROOT_USER: accessKeyId,
          MINIO_ROOT_PASSWORD: secretAccessKey,
          MINIO_SITE_REGION: region,
          MINIO_BROWSER: 'off',
          MINIO_UPDATE: 'off',
        },
        ready: httpReady('/minio/health/live', [200]),
      });
    } catch (err) {
      if (attempt < 3 && portWasTaken(err)) return startOnFreePorts(attempt + 1);
      throw err;
    }
  };
  const server = await startOnFreePorts(1);
  const bucket = opts.bucket ?? 'lakehouse-test';
  const client = new S3Client({
    endpoint: server.endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return {
    server,
    endpoint: server.endpoint,
    bucket,
    region,
    accessKeyId,
    secretAccessKey,
    storageOptions: {
      AWS_ENDPOINT_URL: server.endpoint,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_ALLOW_HTTP: 'true',
    },
    uri: (prefix) => `s3://${bucket}/${prefix ?? randomUUID()}`,
    stop: () => server.stop(),
  };
}

/** Whether a start-up failure was MinIO finding its port already in use (its log says so). */
function portWasTaken(err: unknown): boolean {
  const log = /see (\S+)$/.exec(String((err as Error)?.message ?? ''))?.[1];
  if (!log) return false;
  try {
    return /port is already in use/i.test(readFileSync(log, 'utf8'));
  } catch {
    return false;
  }
}
