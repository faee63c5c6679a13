import {
  canonicalizeJson,
  lastCheckpointChecksum,
  parseLastCheckpoint,
  readLastCheckpoint,
  writeLastCheckpoint,
} from '../../lib/delta/last-checkpoint.js';
import { tempStore } from './helpers.js';

describe('_last_checkpoint', () => {
  test('canonical JSON and checksum match the protocol example', () => {
    const json = JSON.parse(
      '{"k0":"\'v 0\'", "checksum": "adsaskfljadfkjadfkj", "k1":{"k2": 2, "k3": ["v3", [1, 2], {"k4": "v4", "k5": ["v5", "v6", "v7"]}]}}',
    );
    expect(canonicalizeJson(json)).toBe(
      '"k0"="%27v%200%27","k1"+"k2"=2,"k1"+"k3"+0="v3","k1"+"k3"+1+0=1,"k1"+"k3"+1+1=2,"k1"+"k3"+2+"k4"="v4","k1"+"k3"+2+"k5"+0="v5","k1"+"k3"+2+"k5"+1="v6","k1"+"k3"+2+"k5"+2="v7"',
    );
    expect(lastCheckpointChecksum(json)).toBe('6a92d155a59bf2eecbd4b4ec7fd1f875');
  });

  test('torn, invalid or checksum-failing hints are ignored', () => {
    expect(parseLastCheckpoint('')).toBeNull();
    expect(parseLastCheckpoint('{"version":10,"si')).toBeNull();
    expect(parseLastCheckpoint('{"version":-1,"size":1}')).toBeNull();
    expect(parseLastCheckpoint('{"version":10,"size":13,"checksum":"00"}')).toBeNull();
    expect(parseLastCheckpoint('{"version":10,"size":13}')).toMatchObject({ version: 10 });
  });

  test('written with a checksum that reads back', async () => {
    const { store } = await tempStore();
    await writeLastCheckpoint(store, { version: 3, size: 7, sizeInBytes: 100, numOfAddFiles: 4 });
    const hint = await readLastCheckpoint(store);
    expect(hint).toMatchObject({ version: 3, size: 7, numOfAddFiles: 4 });
    expect(hint!.checksum).toMatch(/^[0-9a-f]{32}$/);
  });
});
