import { randomUUID } from 'node:crypto';
import {
  ContainerSASPermissions,
  BlobServiceClient,
  generateBlobSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { Snapshot } from '../../lib/delta/index.js';
import { deltaSchemaToArrow } from '../../lib/delta/arrow-schema.js';
import { batchFromRows } from '../../lib/data/arrow-build.js';
import { createTable, resolveSchema } from '../../lib/ops/create.js';
import { writeTable } from '../../lib/ops/write.js';
import { openStore } from '../../lib/storage/index.js';
import { azureConfigFromOptions } from '../../lib/storage/azure.js';
import { startAzurite, type AzuriteServer } from '../harness/azurite.js';
import { objectStoreContract } from './contract.js';
import { concurrentCommitsTest } from './concurrent-commits.js';
import { tableLifecycleTest } from './table-lifecycle.js';
import { lossyNetworkSuite } from './lossy-network.js';
import { cliListTest } from './cli-ls.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

let az: AzuriteServer;
beforeAll(async () => {
  az = await startAzurite();
});
afterAll(async () => {
  await az?.stop();
});

objectStoreContract('Azure Blob (Azurite)', () => openStore(az.uri(), az.storageOptions));

describe('Azurite: put-if-absent smoke test', () => {
  test('a second Put Blob with If-None-Match: * of the same blob is refused (409 BlobAlreadyExists)', async () => {
    const blob = BlobServiceClient.fromConnectionString(az.connectionString)
      .getContainerClient(az.container)
      .getBlockBlobClient(`smoke/${randomUUID()}.json`);
    await blob.upload('first', 5, { conditions: { ifNoneMatch: '*' } });
    const second = await blob.upload('second', 6, { conditions: { ifNoneMatch: '*' } }).then(
      () => undefined,
      (err: { statusCode?: number; code?: string }) => err,
    );
    // Azure (and Azurite) answer a failed If-None-Match: * on Put Blob with 409 BlobAlreadyExists.
    expect(second).toMatchObject({ statusCode: 409, code: 'BlobAlreadyExists' });
    expect((await blob.downloadToBuffer()).toString()).toBe('first');
  });
});

describe('Azure URIs, options and credentials', () => {
  test('abfss://container@account.dfs.core.windows.net/path maps to the Blob endpoint of the account', () => {
    const config = azureConfigFromOptions(
      'abfss://c@acct.dfs.core.windows.net/t/x',
      {
        AZURE_STORAGE_ACCOUNT_KEY: 'a2V5',
      },
      {},
    );
    expect(config).toMatchObject({
      container: 'c',
      account: 'acct',
      prefix: 't/x',
      serviceUrl: 'https://acct.blob.core.windows.net',
      auth: { kind: 'account-key' },
    });
  });

  test('options given as a record win over the environment; default is DefaultAzureCredential', () => {
    const env = {
      AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
      AZURE_STORAGE_ACCOUNT_NAME: 'envacct',
    };
    expect(azureConfigFromOptions('az://c/p', { azure_storage_sas_token: '?sv=1&sig=x' }, env).auth).toEqual({
      kind: 'sas',
      sasToken: 'sv=1&sig=x',
    });
    expect(azureConfigFromOptions('az://c/p', {}, env).auth.kind).toBe('connection-string');
    expect(azureConfigFromOptions('az://c/p', { AZURE_STORAGE_ACCOUNT_NAME: 'a' }, {}).auth.kind).toBe(
      'default',
    );
  });

  test('az:// without an account says how to name one', () => {
    expect(() => azureConfigFromOptions('az://c/p', {}, {})).toThrow(/set AZURE_STORAGE_ACCOUNT_NAME/);
  });

  test('account name + key + endpoint (the emulator form) and abfss:// reach Azurite', async () => {
    const prefix = randomUUID();
    const viaKey = await openStore(`abfss://${az.container}@${az.account}.dfs.core.windows.net/${prefix}`, {
      AZURE_STORAGE_USE_EMULATOR: 'true',
      AZURE_STORAGE_ENDPOINT: az.serviceUrl,
    });
    await viaKey.put('k.txt', enc('via key'));
    const viaConnection = await openStore(az.uri(prefix), az.storageOptions);
    expect(dec(await viaConnection.get('k.txt'))).toBe('via key');
  });

  test('a SAS token with read/write/list/delete works', async () => {
    const sas = generateBlobSASQueryParameters(
      {
        containerName: az.container,
        permissions: ContainerSASPermissions.parse('racwdl'),
        expiresOn: new Date(Date.now() + 3600_000),
      },
      new StorageSharedKeyCredential(az.account, az.accountKey),
    ).toString();
    const store = await openStore(az.uri(), {
      AZURE_STORAGE_ACCOUNT_NAME: az.account,
      AZURE_STORAGE_SAS_TOKEN: sas,
      AZURE_STORAGE_ENDPOINT: az.serviceUrl,
      AZURE_ALLOW_HTTP: 'true',
    });
    await store.putIfAbsent('s.json', enc('sas'));
    expect(dec(await store.get('s.json'))).toBe('sas');
  });
});

describe('Azure errors say what to do', () => {
  test('missing container', async () => {
    const store = await openStore(`az://no-such-container/t`, az.storageOptions);
    const err = await store.get('x').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NOT_FOUND' });
    expect((err as Error).message).toMatch(/container "no-such-container" does not exist .*create it/);
    await expect(collectAll(store.list(''))).rejects.toThrow(/container "no-such-container" does not exist/);
  });

  test('wrong account key', async () => {
    const store = await openStore(az.uri(), {
      AZURE_STORAGE_ACCOUNT_NAME: az.account,
      AZURE_STORAGE_ACCOUNT_KEY: Buffer.from('not the key').toString('base64'),
      AZURE_STORAGE_ENDPOINT: az.serviceUrl,
      AZURE_ALLOW_HTTP: 'true',
    });
    const err = await store.put('x', enc('x')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ACCESS_DENIED' });
    expect((err as Error).message).toMatch(/check AZURE_STORAGE_ACCOUNT_KEY/);
  });

  test('expired SAS token', async () => {
    const sas = generateBlobSASQueryParameters(
      {
        containerName: az.container,
        permissions: ContainerSASPermissions.parse('racwdl'),
        startsOn: new Date(Date.now() - 7200_000),
        expiresOn: new Date(Date.now() - 3600_000),
      },
      new StorageSharedKeyCredential(az.account, az.accountKey),
    ).toString();
    const store = await openStore(az.uri(), {
      AZURE_STORAGE_ACCOUNT_NAME: az.account,
      AZURE_STORAGE_SAS_TOKEN: sas,
      AZURE_STORAGE_ENDPOINT: az.serviceUrl,
      AZURE_ALLOW_HTTP: 'true',
    });
    const err = await store.get('x').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ACCESS_DENIED' });
    expect((err as Error).message).toMatch(
      /^storage: the SAS token expired at \d{4}-\d\d-\d\dT[\d:.]+Z; get a new one and set AZURE_STORAGE_SAS_TOKEN$/,
    );
  });

  test('wrong endpoint', async () => {
    const store = await openStore(az.uri(), {
      AZURE_STORAGE_USE_EMULATOR: 'true',
      AZURE_STORAGE_ENDPOINT: `http://127.0.0.1:1/${az.account}`,
    });
    const err = await store.get('x').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'STORAGE_CONFIG' });
    expect((err as Error).message).toMatch(
      /cannot reach the Azure Blob endpoint http:\/\/127\.0\.0\.1:1\/.*ECONNREFUSED/,
    );
  });

  test('plain HTTP needs AZURE_ALLOW_HTTP', () => {
    expect(() =>
      azureConfigFromOptions(
        'az://c/p',
        { AZURE_STORAGE_ACCOUNT_NAME: 'a', AZURE_STORAGE_ENDPOINT: 'http://x' },
        {},
      ),
    ).toThrow(/set AZURE_ALLOW_HTTP=true/);
  });
});

lossyNetworkSuite('Azure', { writeMethod: 'PUT', preconditionStatus: 409 }, () => ({
  upstream: () => az.server.endpoint,
  direct: (root) => openStore(root ?? az.uri(), az.storageOptions),
  via: (endpoint, root) =>
    openStore(root, {
      AZURE_STORAGE_USE_EMULATOR: 'true',
      AZURE_STORAGE_ENDPOINT: `${endpoint}/${az.account}`,
    }),
  isConditionalCreate: (req) => req.method === 'PUT' && req.headers['if-none-match'] === '*',
}));

async function collectAll<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('concurrent commits on Azure Blob (Azurite)', () => {
  concurrentCommitsTest('Azurite', () => ({ uri: az.uri(), options: az.storageOptions }));
});

describe('lakehouse ls on Azure through the CLI', () => {
  cliListTest('Azure (abfss:// with a connection string)', () => ({
    uri: (prefix) => `abfss://${az.container}@${az.account}.dfs.core.windows.net/${prefix}`,
    storeUri: (prefix) => az.uri(prefix),
    storeOptions: az.storageOptions,
    cliOptions: { AZURE_STORAGE_CONNECTION_STRING: az.connectionString },
  }));
});

describe('table life cycle on Azure Blob (Azurite)', () => {
  tableLifecycleTest('Azurite', () => ({ uri: az.uri(), options: az.storageOptions }));
});

describe('commit times on Azure', () => {
  test('with in-commit timestamps, time travel by timestamp tells apart commits made within one second', async () => {
    const store = await openStore(az.uri(), az.storageOptions);
    await createTable(store, { schema: 'id:long', properties: { 'delta.enableInCommitTimestamps': 'true' } });
    const arrowSchema = deltaSchemaToArrow(resolveSchema('id:long'));
    for (const id of [1, 2, 3]) await writeTable(store, [batchFromRows(arrowSchema, [{ id }])]);
    const v2 = await Snapshot.load(store, { version: 2 });
    // Azure's Last-Modified has whole seconds; the commit's own timestamp has milliseconds.
    expect((await Snapshot.load(store, { timestamp: v2.timestamp })).version).toBe(2);
    expect((await Snapshot.load(store, { timestamp: v2.timestamp - 1 })).version).toBeLessThan(2);
  });
});
