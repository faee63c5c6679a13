import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir, requireTool } from '../harness/env.js';

/**
 * CI's benchmark smoke run: every scenario at `--scale small`, one measured run, through the built
 * runner (npm test builds dist/ first). Fails when our result differs from delta-rs's on any
 * scenario, or when a scenario cannot run on either side. Timings are not asserted here (a shared
 * CI machine is too noisy); the README's table is where they are reported.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// Every scenario of bench/run.ts, in its order.
const SCENARIOS = [
  'snapshot-load',
  'snapshot-load-nocp',
  'time-travel',
  'checkpoint-write',
  'append',
  'scan-filter',
  'scan-full',
  'optimize',
  'vacuum',
];

interface Row {
  name: string;
  ours_s: number;
  peer_s: number;
  ratio: number;
  ours_rss_mb: number;
  peer_rss_mb: number;
  runs: number;
  same_result: boolean;
  result: Record<string, unknown>;
}

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

test(
  'bench --scale small: our results equal delta-rs on every scenario',
  async () => {
    const runner = requireTool('the built benchmark runner', path.join(root, 'dist/bench/run.js'));
    requireTool('the built benchmark (our side)', path.join(root, 'dist/bench/ours.js'));
    requireTool('the Python peers (deltalake)', path.join(cacheDir(), 'peers.json'));
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'lk-bench-test-'));
    try {
      const json = path.join(tmp, 'bench.json');
      const { code, stderr } = await run([
        runner,
        '--scale',
        'small',
        '--runs',
        '1',
        '--scenario',
        SCENARIOS.join(','),
        '--json',
        json,
      ]);
      if (code !== 0 && !stderr.includes('disagree with delta-rs'))
        throw new Error(`bench runner failed (exit ${code}):\n${stderr.slice(-4000)}`);
      const report = JSON.parse(readFileSync(json, 'utf8')) as { scenarios: Row[] };
      expect(report.scenarios.map((s) => s.name)).toEqual(SCENARIOS);
      for (const s of report.scenarios) {
        for (const k of ['ours_s', 'peer_s', 'ratio', 'ours_rss_mb', 'peer_rss_mb'] as const)
          expect(s[k]).toBeGreaterThan(0);
        expect(s.runs).toBe(1);
      }
      const differing = report.scenarios.filter((s) => !s.same_result).map((s) => s.name);
      expect(differing).toEqual([]);
      expect(code).toBe(0);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  },
  30 * 60_000,
);
