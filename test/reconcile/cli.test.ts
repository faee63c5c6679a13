/**
 * `lakehouse reconcile` as users run it (the built CLI): exit codes, --format json, --root,
 * --watch reacting to a changed folder without polling, and a folder of 200 definitions
 * reconciled with bounded memory.
 */
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';

const REPO = path.resolve('.');
const BIN = path.join(REPO, 'bin/lakehouse.js');

function lakehouse(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function definition(name: string, extra: Record<string, unknown> = {}): string {
  return stringify({
    apiVersion: 'lakehouse.dev/v1alpha1',
    kind: 'LakeTable',
    metadata: { name },
    spec: {
      zone: 'raw',
      path: `events/${name}`,
      schema: {
        columns: [
          { name: 'id', type: 'long', nullable: false },
          { name: 'day', type: 'date' },
          { name: 'payload', type: 'struct<a:string,b:array<double>>' },
        ],
      },
      partitionBy: ['day'],
      ...extra,
    },
  });
}

let tmp: string;
beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'reconcile-cli-'));
  await fs.mkdir(path.join(tmp, 'defs'));
});
afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('lakehouse reconcile', () => {
  test('creates tables under --data-dir, a second run reports nothing to do; exit 0', async () => {
    await fs.writeFile(path.join(tmp, 'defs', 'a.yaml'), definition('events-a'));
    const first = lakehouse(['reconcile', 'defs', '--data-dir', 'lake'], tmp);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^events-a: created \(version 0\)$/m);
    expect(first.stdout).toMatch(/done +create: 3 columns, partitioned by day/);
    await fs.stat(path.join(tmp, 'lake', 'raw', 'events', 'events-a', '_delta_log'));
    const second = lakehouse(['reconcile', 'defs', '--data-dir', 'lake'], tmp);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^events-a: no change \(version 0\)$/m);
    expect(second.stdout).toMatch(
      /^Nothing to do: the table matches its definition and no maintenance is due/m,
    );
  });

  test('--root puts a zone elsewhere; --format json prints the summary with every report', async () => {
    await fs.writeFile(path.join(tmp, 'defs', 'a.yaml'), definition('events-a'));
    const other = path.join(tmp, 'elsewhere');
    const r = lakehouse(['reconcile', 'defs', '--root', `raw=${other}`, '--format', 'json'], tmp);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ tables: 1, counts: { created: 1, failed: 0 } });
    expect(summary.reports[0]).toMatchObject({
      name: 'events-a',
      location: path.join(other, 'events', 'events-a'),
      outcome: 'created',
      after: { version: 0, files: 0, bytes: 0 },
    });
    expect(summary.reports[0].next.map((n: { kind: string }) => n.kind)).toEqual([
      'compaction',
      'checkpoint',
      'vacuum',
    ]);
  });

  test('a failed or refused table makes the exit code 1, after the others were reconciled', async () => {
    await fs.writeFile(path.join(tmp, 'defs', 'a.yaml'), definition('events-a'));
    await fs.writeFile(path.join(tmp, 'defs', 'b.yaml'), definition('events-b'));
    expect(lakehouse(['reconcile', 'defs'], tmp).code).toBe(0);
    // b now declares a different partitioning: refused.
    await fs.writeFile(path.join(tmp, 'defs', 'b.yaml'), definition('events-b', { partitionBy: [] }));
    await fs.writeFile(path.join(tmp, 'defs', 'c.yaml'), definition('events-c'));
    const r = lakehouse(['reconcile', 'defs'], tmp);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^events-b: REFUSED, table left untouched \(version 0\)$/m);
    expect(r.stdout).toMatch(/refused +the table is partitioned by \[day\], the spec says \[\]/);
    expect(r.stdout).toMatch(/^events-c: created/m);
    expect(r.stderr).toMatch(
      /lakehouse: error \[RECONCILE_FAILED\]: 1 of 3 tables not reconciled: events-b \(refused\)/,
    );
  });

  test('bad usage exits 2', () => {
    expect(lakehouse(['reconcile', 'defs', '--root', 'lake=/x'], tmp)).toMatchObject({ code: 2 });
    expect(lakehouse(['reconcile', 'nowhere'], tmp)).toMatchObject({ code: 2 });
    expect(lakehouse(['reconcile', 'defs', '--once', '--watch'], tmp)).toMatchObject({ code: 2 });
  });

  test('--watch reconciles again when a definition is added, and stops on SIGINT', async () => {
    await fs.writeFile(path.join(tmp, 'defs', 'a.yaml'), definition('events-a'));
    const child = spawn(process.execPath, [BIN, 'reconcile', 'defs', '--watch'], { cwd: tmp });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const until = async (pattern: RegExp, what: string): Promise<void> => {
      const deadline = Date.now() + 30_000;
      while (!pattern.test(out + err)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output:\n${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      await until(/-- watching defs; next pass at/, 'the first pass');
      expect(out).toMatch(/^events-a: created/m);
      const started = Date.now();
      await fs.writeFile(path.join(tmp, 'defs', 'b.yaml'), definition('events-b'));
      await until(/^events-b: created/m, 'the pass after the change');
      // Event-driven: the next timed pass would be an hour away (--recheck 1h).
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(err).toMatch(/-- reconcile .* \(definitions changed\)/);
      // The unchanged table is left alone on the second pass.
      expect(out).toMatch(/^events-a: no change/m);
    } finally {
      child.kill('SIGINT');
    }
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(0);
  });
});

describe('many definitions', () => {
  /** Peak RSS (KiB) and outcome counts of reconciling `n` definitions twice in a fresh process. */
  async function measure(n: number): Promise<{ created: number; unchanged: number; maxRssKiB: number }> {
    const dir = path.join(tmp, `n${n}`);
    await fs.mkdir(path.join(dir, 'defs'), { recursive: true });
    for (let i = 0; i < n; i++) {
      await fs.writeFile(path.join(dir, 'defs', `t${String(i).padStart(4, '0')}.yaml`), definition(`t${i}`));
    }
    const script = `
      const { reconcileAll } = await import(${JSON.stringify(path.join(REPO, 'dist/lib/reconcile/index.js'))});
      const { localStorageRoots } = await import(${JSON.stringify(path.join(REPO, 'dist/lib/spec/index.js'))});
      const roots = localStorageRoots('data');
      const a = await reconcileAll('defs', { roots, concurrency: 4 });
      const b = await reconcileAll('defs', { roots, concurrency: 4 });
      // VmHWM, not resourceUsage().maxRSS: Linux carries the forking parent's RSS (here the jest
      // worker, 500 MiB in CI) into the child's ru_maxrss across exec, so maxRSS measured the worker.
      const status = (await import('node:fs')).readFileSync('/proc/self/status', 'utf8');
      const maxRssKiB = Number(/^VmHWM:\\s+(\\d+) kB/m.exec(status)[1]);
      console.log(JSON.stringify({ created: a.counts.created, unchanged: b.counts.unchanged, maxRssKiB }));
    `;
    // A 64 MiB heap: more than that would be a leak per definition.
    const r = spawnSync(process.execPath, ['--max-old-space-size=64', '--input-type=module', '-e', script], {
      cwd: dir,
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`reconcile of ${n} definitions failed:\n${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  test('200 definitions are reconciled (created, then unchanged) in flat memory', async () => {
    const small = await measure(20);
    const large = await measure(200);
    console.log(
      `reconcile peak RSS: ${Math.round(small.maxRssKiB / 1024)} MiB for 20 definitions, ${Math.round(large.maxRssKiB / 1024)} MiB for 200`,
    );
    expect(small).toMatchObject({ created: 20, unchanged: 20 });
    expect(large).toMatchObject({ created: 200, unchanged: 200 });
    // Measured here: about 105 MiB for 20 and 125 MiB for 200 (and 135 MiB for 1000).
    expect(large.maxRssKiB).toBeLessThan(small.maxRssKiB + 48 * 1024);
    // The leak guards are the 64 MiB heap cap and the growth bound above; the absolute ceiling
    // catches gross regressions of memory outside the heap (code, WebAssembly).
    expect(large.maxRssKiB).toBeLessThan(256 * 1024);
  });
});
