import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const BIN = path.resolve('bin/lakehouse.js');

/** Runs the built CLI the way a user does (npm test builds dist/ first). */
export function lakehouse(
  args: string[],
  opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {},
) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    input: opts.input,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('lakehouse CLI basics', () => {
  test('--help lists the commands and exits 0', () => {
    const r = lakehouse(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: lakehouse/);
    expect(r.stdout).toMatch(/\bls\b/);
  });

  test('--version prints the package version', () => {
    const r = lakehouse(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test('a bad flag exits 2 with a clear message on stderr', () => {
    const r = lakehouse(['--no-such-flag']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--no-such-flag'/);
  });

  test('an unsupported URI scheme exits 2 and says which forms work', () => {
    const r = lakehouse(['ls', 'ftp://host/x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unsupported location scheme/);
    expect(r.stderr).toMatch(/s3:\/\/bucket\/prefix/);
  });

  test('runs under Node 22 or newer', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(22);
  });
});
