import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { AZURITE_ACCOUNT, AZURITE_KEY } from '../../lib/storage/azure.js';
import { requireTool } from './env.js';
import { startServer, type RunningServer } from './server.js';

/** An Azurite blob server with one container, and the storage options that reach it. */
export interface AzuriteServer {
  server: RunningServer;
  /** Blob service URL including the account: `http://127.0.0.1:PORT/devstoreaccount1`. */
  serviceUrl: string;
  account: string;
  accountKey: string;
  container: string;
  connectionString: string;
  /** delta-rs style options for `openStore` / `--storage-option` (a connection string). */
  storageOptions: Record<string, string>;
  /** `az://container/<prefix>`; a fresh random prefix when none is given. */
  uri(prefix?: string): string;
  stop(): Promise<void>;
}

/** Azurite from node_modules, run by Node 22 (it declares Node >= 22). */
function azuriteCommand(): { node: string; script: string } {
  const script = requireTool('Azurite (npm devDependency)', path.resolve('node_modules/.bin/azurite-blob'));
  const localNode = path.resolve('node_modules/.bin/node');
  return { node: existsSync(localNode) ? localNode : process.execPath, script };
}

/** Start Azurite's blob service on a free 127.0.0.1 port and create a container. */
export async function startAzurite(opts: { container?: string } = {}): Promise<AzuriteServer> {
  const { node, script } = azuriteCommand();
  const server = await startServer({
    name: 'azurite',
    command: node,
    args: (port, dir) => [
      script,
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(port),
      '--location',
      path.join(dir, 'data'),
      '--silent',
      '--disableTelemetry',
      // The SDK may speak a newer service version than this Azurite knows.
      '--skipApiVersionCheck',
    ],
  });
  const serviceUrl = `${server.endpoint}/${AZURITE_ACCOUNT}`;
  const connectionString =
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
    `BlobEndpoint=${serviceUrl};`;
  const container = opts.container ?? 'lakehouse-test';
  await BlobServiceClient.fromConnectionString(connectionString).getContainerClient(container).create();
  return {
    server,
    serviceUrl,
    account: AZURITE_ACCOUNT,
    accountKey: AZURITE_KEY,
    container,
    connectionString,
    storageOptions: { AZURE_STORAGE_CONNECTION_STRING: connectionString },
    uri: (prefix) => `az://${container}/${prefix ?? randomUUID()}`,
    stop: () => server.stop(),
  };
}
