/**
 * Benchmarks: the same work through this project and through delta-rs, side by side.
 *
 *   npm run bench [-- --scenario NAME[,NAME]] [--scale small|full] [--runs N] [--warmup N] [--json FILE]
 *
 * For each scenario: fixtures are generated once per scale (bench/fixtures.py, cached under the
 * test-environment cache), then one warm-up run of each side, then N measured runs alternating
 * ours / delta-rs. Each run is its own process, measured by bench/measure.py (peak RSS from
 * wait4); the time is the operation's own (each side times only the work, not start-up).
 * Prints medians, the ratio ours/delta-rs and both peak RSS figures, and fails (exit 1) when the
 * two sides disagree on the result, so a fast wrong answer can't win.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../..' : '..');
const benchSrc = path.join(root, 'bench');

interface Scenario {
  name: string;
  /** Fixture key: scenarios sharing one reuse it. */
  fixture: string;
  /** The op writes into its table: give each run a fresh copy (or an empty dir). */
  work: 'shared' | 'copy' | 'empty';
  /** Result fields both sides must agree on. */
  compare: string[];
  /** Our peak RSS must stay at or under this (MiB): the scenario's memory budget. */
  oursRssLimitMb?: number;
}

/** The memory budget of the *-budget scenarios (ours: --memory-limit; delta-rs: max_spill_size). */
export const BUDGET_MIB = 512;

export const SCENARIOS: Scenario[] = [
  { name: 'snapshot-load', fixture: 'snapshot-load', work: 'shared', compare: ['version', 'files'] },
  {
    name: 'snapshot-load-nocp',
    fixture: 'snapshot-load-nocp',
    work: 'shared',
    compare: ['version', 'files'],
  },
  { name: 'time-travel', fixture: 'snapshot-load', work: 'shared', compare: ['version', 'files'] },
  { name: 'checkpoint-write', fixture: 'checkpoint-write', work: 'copy', compare: ['version', 'files'] },
  { name: 'append', fixture: 'append', work: 'empty', compare: ['version', 'rows'] },
  { name: 'scan-filter', fixture: 'scan', work: 'shared', compare: ['rows'] },
  { name: 'scan-full', fixture: 'scan', work: 'shared', compare: ['rows'] },
  { name: 'optimize', fixture: 'optimize', work: 'copy', compare: ['rows', 'files', 'removed'] },
  { name: 'vacuum', fixture: 'vacuum', work: 'copy', compare: ['deleted', 'files'] },
  // Issue 12: one 2 GiB partition of 768 small files (full; 77 files at small).
  {
    name: 'optimize-budget',
    fixture: 'budget',
    work: 'copy',
    // Output file sizes differ (ours are capped by the budget), so only the rows must agree.
    compare: ['rows'],
    oursRssLimitMb: BUDGET_MIB,
  },
  {
    name: 'zorder-budget',
    fixture: 'budget',
    work: 'copy',
    // Output file sizes differ (ours are capped by the budget), so only the rows must agree.
    compare: ['rows'],
    oursRssLimitMb: BUDGET_MIB,
  },
  // Each side compacts the table (not timed), then optimizes it again (timed). The files the second
  // run rewrites (`removed`) are the figure compared in the README, not a correctness check.
  { name: 'optimize-second', fixture: 'budget', work: 'copy', compare: ['rows'] },
];

interface Measured {
  seconds: number;
  result: Record<string, unknown>;
  maxrss_mb: number;
  wall_s: number;
}

function cacheDir(): string {
  return (
    process.env.LAKEHOUSE_CACHE ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'lakehouse-kit')
  );
}

function peerPython(): string {
  const file = path.join(cacheDir(), 'peers.json');
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { python: string }).python;
  } catch {
    throw new Error(
      `bench: delta-rs is not installed (${file} missing); run "bash scripts/test-env.sh" first`,
    );
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function runMeasured(python: string, cmd: string[]): Measured {
  const out = execFileSync(python, [path.join(benchSrc, 'measure.py'), ...cmd], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = JSON.parse(out.trim().split('\n').pop()!) as Measured & { error?: string; stdout?: string };
  if (line.error) throw new Error(`bench: ${cmd.join(' ')} failed: ${line.error}\n${line.stdout ?? ''}`);
  return line;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string' },
      scale: { type: 'string', default: 'small' },
      runs: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      json: { type: 'string' },
    },
  });
  const scale = values.scale!;
  if (scale !== 'small' && scale !== 'full')
    throw new Error(`bench: --scale must be small or full, got ${scale}`);
  const runs = Number(values.runs);
  const wanted = values.scenario?.split(',') ?? SCENARIOS.map((s) => s.name);
  const unknown = wanted.filter((w) => !SCENARIOS.some((s) => s.name === w));
  if (unknown.length)
    throw new Error(
      `bench: unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`,
    );
  const python = peerPython();
  const ours = path.join(root, 'dist', 'bench', 'ours.js');
  const node = process.execPath;

  const report: Record<string, unknown>[] = [];
  let mismatches = 0;
  for (const sc of SCENARIOS.filter((s) => wanted.includes(s.name))) {
    const fixtureDir = path.join(cacheDir(), 'bench', scale, sc.fixture);
    process.stderr.write(`bench: ${sc.name}: preparing fixture in ${fixtureDir}\n`);
    const fixtureJson = execFileSync(
      python,
      [path.join(benchSrc, 'fixtures.py'), sc.fixture, scale, fixtureDir],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
      .trim()
      .split('\n')
      .pop()!;
    const fixture = JSON.parse(fixtureJson) as { table: string };

    const workFor = (): { dir: string; cleanup: () => void } => {
      if (sc.work === 'shared') return { dir: fixture.table, cleanup: () => {} };
      const tmp = mkdtempSync(path.join(os.tmpdir(), `lk-bench-${sc.name}-`));
      const dir = path.join(tmp, 'table');
      if (sc.work === 'copy') cpSync(fixture.table, dir, { recursive: true });
      else mkdirSync(dir);
      return { dir, cleanup: () => rmSync(tmp, { recursive: true, force: true }) };
    };
    const side = (who: 'ours' | 'peer'): Measured => {
      const work = workFor();
      try {
        const cmd =
          who === 'ours'
            ? [node, ours, sc.name, fixtureJson, work.dir]
            : [python, path.join(benchSrc, 'peer.py'), sc.name, fixtureJson, work.dir];
        return runMeasured(python, cmd);
      } finally {
        work.cleanup();
      }
    };

    for (let i = 0; i < Number(values.warmup); i++) {
      side('ours');
      side('peer'); // warm-up: page cache, JIT-free but fair to both
    }
    const oursRuns: Measured[] = [];
    const peerRuns: Measured[] = [];
    for (let i = 0; i < runs; i++) {
      oursRuns.push(side('ours'));
      peerRuns.push(side('peer'));
    }
    const overBudget = sc.oursRssLimitMb
      ? oursRuns.filter((r) => r.maxrss_mb > sc.oursRssLimitMb!).map((r) => r.maxrss_mb)
      : [];
    if (overBudget.length) {
      mismatches++;
      process.stderr.write(
        `bench: ${sc.name}: OVER BUDGET: our peak RSS ${overBudget.map((x) => x.toFixed(0)).join(', ')} MiB exceeds the ${sc.oursRssLimitMb} MiB limit\n`,
      );
    }
    const diffs = sc.compare.filter(
      (k) => JSON.stringify(oursRuns[0]!.result[k]) !== JSON.stringify(peerRuns[0]!.result[k]),
    );
    if (diffs.length) {
      mismatches++;
      process.stderr.write(
        `bench: ${sc.name}: RESULTS DIFFER on ${diffs.join(', ')}: ours ${JSON.stringify(oursRuns[0]!.result)} vs delta-rs ${JSON.stringify(peerRuns[0]!.result)}\n`,
      );
    }
    const row = {
      name: sc.name,
      ours_s: median(oursRuns.map((r) => r.seconds)),
      peer_s: median(peerRuns.map((r) => r.seconds)),
      ratio: 0,
      ours_rss_mb: Math.max(...oursRuns.map((r) => r.maxrss_mb)),
      peer_rss_mb: Math.max(...peerRuns.map((r) => r.maxrss_mb)),
      runs,
      same_result: diffs.length === 0,
      ...(sc.oursRssLimitMb
        ? { ours_rss_limit_mb: sc.oursRssLimitMb, within_budget: overBudget.length === 0 }
        : {}),
      result: oursRuns[0]!.result,
      peer_result: peerRuns[0]!.result,
    };
    row.ratio = row.ours_s / row.peer_s;
    report.push(row);
    process.stdout.write(
      `${sc.name.padEnd(20)} ours ${row.ours_s.toFixed(3)}s  delta-rs ${row.peer_s.toFixed(3)}s  ratio ${row.ratio.toFixed(2)}  ` +
        `rss ours ${row.ours_rss_mb.toFixed(0)} MiB / delta-rs ${row.peer_rss_mb.toFixed(0)} MiB  ${row.same_result ? 'same result' : 'RESULT DIFFERS'}` +
        `${sc.oursRssLimitMb ? `  budget ${sc.oursRssLimitMb} MiB ${overBudget.length ? 'EXCEEDED' : 'held'}` : ''}\n` +
        `${' '.repeat(20)} ours ${JSON.stringify(row.result)}  delta-rs ${JSON.stringify(row.peer_result)}\n`,
    );
  }
  if (values.json)
    writeFileSync(
      values.json,
      `${JSON.stringify({ scale, machine: machine(), scenarios: report }, null, 2)}\n`,
    );
  if (mismatches) {
    process.stderr.write(
      `bench: ${mismatches} scenario(s) disagree with delta-rs or exceed their memory budget\n`,
    );
    process.exitCode = 1;
  }
}

function machine(): Record<string, unknown> {
  return {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  };
}

main();
