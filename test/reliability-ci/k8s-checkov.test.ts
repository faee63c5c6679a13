import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { requireTool } from '../harness/env.js';
import { kubeBinary } from '../harness/kube.js';
import { peersConfig } from '../harness/peers.js';

// Scenario 5 (part): checkov over the operator's Kubernetes manifests as users apply them
// (`kubectl kustomize` of the base and every overlay). No failed check; the skips are exactly
// the ones declared on the Deployment (checkov.io/skipN annotations), each with its reason.
const run = promisify(execFile);
const DEPLOY = path.resolve('operator/deploy');
const TARGETS = ['base', 'overlays/aws', 'overlays/azure', 'overlays/gcp', 'overlays/local'];
const DECLARED_SKIPS = ['CKV_K8S_15', 'CKV_K8S_38', 'CKV_K8S_43'];

test('checkov: no failed check in the rendered operator manifests, every skip declared with a reason', async () => {
  const kubectl = requireTool(
    'kubectl (built with the test kube-apiserver)',
    path.join(path.dirname(kubeBinary()), 'kubectl'),
  );
  const checkov = requireTool('checkov (IaC venv)', peersConfig().iac.checkov);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lk-k8s-checkov-'));
  const args = ['--framework', 'kubernetes', '--skip-download', '--output', 'json'];
  for (const target of TARGETS) {
    const { stdout } = await run(kubectl, ['kustomize', path.join(DEPLOY, target)], { maxBuffer: 16 << 20 });
    const file = path.join(dir, `${target.replace('/', '-')}.yaml`);
    writeFileSync(file, stdout);
    args.push('--file', file);
  }
  const { stdout } = await run(checkov, args, {
    maxBuffer: 64 << 20,
    // checkov asks PyPI for a newer version unless told not to (its cache may be empty on CI).
    env: { ...process.env, LOG_LEVEL: 'ERROR', CKV_SKIP_PACKAGE_UPDATE_CHECK: 'true' },
  }).catch((e: { stdout: string }) => ({ stdout: e.stdout }));
  const report = JSON.parse(stdout) as {
    summary: { failed: number; passed: number; parsing_errors: number };
    results: {
      failed_checks: { check_id: string; resource: string; file_path: string }[];
      skipped_checks: { check_id: string; resource: string; check_result: { suppress_comment: string } }[];
    };
  };
  expect(report.results.failed_checks.map((c) => `${c.check_id} ${c.resource} ${c.file_path}`)).toEqual([]);
  expect(report.summary.parsing_errors).toBe(0);
  expect(report.summary.passed).toBeGreaterThan(400);
  const skipped = report.results.skipped_checks;
  expect([...new Set(skipped.map((c) => c.check_id))].sort()).toEqual(DECLARED_SKIPS);
  // Each declared skip applies to the Deployment of every rendering, with its reason.
  expect(skipped).toHaveLength(DECLARED_SKIPS.length * TARGETS.length);
  for (const c of skipped) {
    expect(c.resource).toBe('Deployment.lakehouse-system.lakehouse-operator');
    expect(c.check_result.suppress_comment.length).toBeGreaterThan(40);
  }
}, 300_000);
