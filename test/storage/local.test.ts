import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalObjectStore } from '../../lib/storage/local.js';
import { openStore, parseLocation } from '../../lib/storage/index.js';
import { objectStoreContract } from './contract.js';

objectStoreContract(
  'local disk',
  async () => new LocalObjectStore(await mkdtemp(path.join(tmpdir(), 'lk-store-'))),
);

describe('LocalObjectStore specifics', () => {
  test('putIfAbsent leaves no temporary files behind, win or lose', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lk-store-'));
    const store = new LocalObjectStore(dir);
    await store.putIfAbsent('_delta_log/0.json', new Uint8Array([1]));
    await expect(store.putIfAbsent('_delta_log/0.json', new Uint8Array([2]))).rejects.toMatchObject({
      code: 'FILE_ALREADY_EXISTS',
    });
    expect(await readdir(path.join(dir, '_delta_log'))).toEqual(['0.json']);
  });

  test('paths may not escape the root', async () => {
    const store = new LocalObjectStore(await mkdtemp(path.join(tmpdir(), 'lk-store-')));
    await expect(store.get('../etc/passwd')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  test('openStore resolves plain paths and file:// URIs', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lk-store-'));
    expect((await openStore(dir)).root).toBe(`file://${dir}`);
    expect((await openStore(`file://${dir}`)).root).toBe(`file://${dir}`);
  });
});

describe('parseLocation', () => {
  test.each([
    ['s3://bucket/a/b/', { scheme: 's3', bucket: 'bucket', prefix: 'a/b' }],
    ['gs://b', { scheme: 'gs', bucket: 'b', prefix: '' }],
    ['az://container/p', { scheme: 'azure', container: 'container', prefix: 'p', dfs: false }],
    [
      'abfss://c@acct.dfs.core.windows.net/x/y',
      { scheme: 'azure', container: 'c', account: 'acct', prefix: 'x/y', dfs: true },
    ],
  ])('%s', (uri, expected) => {
    expect(parseLocation(uri)).toEqual(expected);
  });

  test('bad URIs say which forms are accepted', () => {
    expect(() => parseLocation('ftp://x/y')).toThrow(/unsupported location scheme "ftp:\/\/".*s3:\/\/bucket/);
    expect(() => parseLocation('abfss://container/x')).toThrow(/container@account/);
    expect(() => parseLocation('s3:///x')).toThrow(/no bucket/);
  });
});
