import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { openStore } from '../../lib/storage/index.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Where the CLI lists: the URI a user types, with the options a user passes as --storage-option. */
export interface CliListTarget {
  /** The table URI as a user writes it (e.g. abfss://container@account.dfs.core.windows.net/path), below a fresh prefix. */
  uri(prefix: string): string;
  /** The same place as the test opens it directly, to set up the objects. */
  storeUri(prefix: string): string;
  storeOptions: Record<string, string>;
  /** What the user passes as `--storage-option KEY=VALUE`. */
  cliOptions: Record<string, string>;
}

/** `lakehouse ls <uri> --format json` lists a backend's objects in key order, sizes included. */
export function cliListTest(name: string, target: () => CliListTarget): void {
  test(`lakehouse ls on ${name}: objects in key order with --storage-option`, async () => {
    const t = target();
    const prefix = randomUUID();
    const uri = t.uri(prefix);
    const store = await openStore(t.storeUri(prefix), t.storeOptions);
    await store.put('_delta_log/00000000000000000001.json', enc('{}'));
    await store.put('_delta_log/00000000000000000000.json', enc('{"a":1}'));
    await store.put('part-0.parquet', enc('PAR1'));
    await store.close?.();
    const optionArgs = Object.entries(t.cliOptions).flatMap(([k, v]) => ['--storage-option', `${k}=${v}`]);
    const run = (args: string[]) =>
      spawnSync(process.execPath, [path.resolve('bin/lakehouse.js'), ...args, ...optionArgs], {
        encoding: 'utf8',
      });
    const r = run(['ls', uri, '--format', 'json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const rows = JSON.parse(r.stdout) as { path: string; size: number }[];
    expect(rows.map((m) => [m.path, m.size])).toEqual([
      ['_delta_log/00000000000000000000.json', 7],
      ['_delta_log/00000000000000000001.json', 2],
      ['part-0.parquet', 4],
    ]);
    const text = run(['ls', uri, '--prefix', '_delta_log/']);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/_delta_log\/00000000000000000000\.json/);
    expect(text.stdout).not.toMatch(/part-0/);
  });
}
