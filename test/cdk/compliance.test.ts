/**
 * The synthesized templates against the rule sets: cdk-nag AwsSolutions (zero unsuppressed
 * findings, the acknowledgement list asserted), cfn-lint and checkov (pinned, from the test
 * environment's IaC venv: zero errors, every skip with its reason and actually used), `npx cdk
 * synth` through the CLI without network, and the README's defaults table.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parse as parseYaml } from 'yaml';
import { parseAppConfig } from '../../cdk/app/config.js';
import { LAKEHOUSE_DEFAULTS, defaultsMarkdownTable } from '../../cdk/defaults.js';
import { requireTool } from '../harness/env.js';
import { peersConfig } from '../harness/peers.js';
import {
  ROOT,
  acknowledgements,
  edgeApp,
  mainApp,
  removalApp,
  removeTempDirs,
  tempDir,
  type Synthesized,
} from './fixtures.js';

afterAll(removeTempDirs);

const run = promisify(execFile);

/**
 * Runs `fn` with an environment whose HTTP(S) proxy is a local server that only counts
 * connections, and returns that count: a tool that tried to reach the network (telemetry,
 * notices, rule downloads, version checks) is caught, and the test needs no network itself.
 */
async function countingConnections(fn: (env: NodeJS.ProcessEnv) => Promise<void>): Promise<number> {
  let connections = 0;
  const proxy = net.createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
  try {
    await fn({
      ...process.env,
      HTTP_PROXY: url,
      HTTPS_PROXY: url,
      http_proxy: url,
      https_proxy: url,
      NO_PROXY: '',
      no_proxy: '',
    });
  } finally {
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  }
  return connections;
}

/** cfn-lint and checkov from the IaC venv that scripts/test-env.sh installs. */
function iacTools(): { cfnLint: string; checkov: string } {
  const { iac } = peersConfig();
  return {
    cfnLint: requireTool('cfn-lint (IaC venv)', iac.cfnLint),
    checkov: requireTool('checkov (IaC venv)', iac.checkov),
  };
}

async function allApps(): Promise<Synthesized[]> {
  return [
    await mainApp(),
    await edgeApp(),
    await removalApp('destroy', true),
    await removalApp('destroy', false),
  ];
}

/** The validation report CDK writes into the assembly: plugin reports with their violations. */
function validationReport(s: Synthesized): { pluginName: string; violations: unknown[] }[] {
  const file = path.join(s.outdir, 'validation-report.json');
  if (!existsSync(file)) return [];
  return (
    JSON.parse(readFileSync(file, 'utf8')) as {
      pluginReports: { pluginName: string; violations: unknown[] }[];
    }
  ).pluginReports;
}

const IAM5 = 'Annotation::AwsSolutions-IAM5';
const bucketObjects = (logicalId: string, pattern = '*'): string =>
  `${IAM5}[Resource::<${logicalId}.Arn>/${pattern}]`;
const glueTables = (db: string): string =>
  `${IAM5}[Resource::arn:<AWS::Partition>:glue:eu-west-1:123456789012:table/${db}/*]`;
const RAW = 'StorageRawBucketBBD9BDC5';
const CURATED = 'StorageCuratedBucket1413FA2D';
const MODELS = 'StorageModelsBucket961E363F';
const SCRATCH = 'StorageScratchBucket989C6451';

describe('cdk-nag AwsSolutions', () => {
  test('the checks are live: an unsuppressed finding fails synthesis', () => {
    const app = new App({ outdir: tempDir('nag') });
    new s3.Bucket(new Stack(app, 'Bad'), 'Plain');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-S1/);
  });

  test('every app synthesizes with zero unacknowledged findings (errors or warnings)', async () => {
    for (const s of await allApps()) {
      const reports = validationReport(s).filter((r) => r.pluginName === 'AwsSolutions');
      expect(reports.flatMap((r) => r.violations)).toEqual([]);
    }
  });

  test('the acknowledgements of the app are exactly these, each with a written reason', async () => {
    const s = await mainApp();
    const acks = acknowledgements(s.app);
    for (const a of acks) expect(a.reason.length).toBeGreaterThan(40);
    const role = (r: string): string => `Lakehouse-test/Access/${r}Role`;
    expect(acks.map((a) => [a.path, a.id])).toEqual([
      [role('Operator'), bucketObjects(CURATED)],
      [role('Operator'), bucketObjects(MODELS)],
      [role('Operator'), bucketObjects(RAW)],
      [role('Operator'), bucketObjects(SCRATCH)],
      [role('Operator'), glueTables('lakehouse_test_curated')],
      [role('Operator'), glueTables('lakehouse_test_models')],
      [role('Operator'), glueTables('lakehouse_test_raw')],
      [role('Operator'), glueTables('lakehouse_test_scratch')],
      [role('Reader'), bucketObjects(CURATED)],
      [role('Reader'), bucketObjects(MODELS)],
      [role('Reader'), glueTables('lakehouse_test_curated')],
      [role('Reader'), glueTables('lakehouse_test_models')],
      [role('Writer'), bucketObjects(CURATED)],
      [role('Writer'), bucketObjects(RAW)],
      [role('Writer'), glueTables('lakehouse_test_curated')],
      [role('Writer'), glueTables('lakehouse_test_raw')],
      ['Lakehouse-test/Storage/AccessLogsBucket', 'Annotation::AwsSolutions-S1'],
    ]);
  });

  test('Lake Formation mode adds only the GetDataAccess and data-access-role acknowledgements', async () => {
    const s = await edgeApp();
    const ids = acknowledgements(s.app).map((a) => `${a.path} ${a.id}`);
    expect(ids.filter((i) => i.includes('Resource::*'))).toEqual([
      `Edge/Access/OperatorRole ${IAM5}[Resource::*]`,
      `Edge/Access/ReaderRole ${IAM5}[Resource::*]`,
    ]);
    expect(ids).toContain(`Edge/Access/ReaderRole ${bucketObjects(CURATED, 'web/sessions/*')}`);
    expect(ids.filter((i) => i.startsWith('Edge/Catalog/'))).toEqual(
      [CURATED, MODELS, RAW, SCRATCH].map(
        (b) => `Edge/Catalog/LakeFormationDataAccessRole ${bucketObjects(b)}`,
      ),
    );
    expect(ids.filter((i) => i.includes('AwsSolutions-S1'))).toEqual([]);
  });
});

describe('cfn-lint and checkov', () => {
  test('cfn-lint finds nothing in any template', async () => {
    const { cfnLint } = iacTools();
    const files = (await allApps()).map((s) => s.templateFile);
    let result = { code: -1, out: '' };
    const connections = await countingConnections(async (env) => {
      result = await run(cfnLint, ['--format', 'parseable', '--', ...files], { env }).then(
        (r) => ({ code: 0, out: r.stdout }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
      );
    });
    expect(connections).toBe(0);
    expect(result.out.trim()).toBe('');
    expect(result.code).toBe(0);
  });

  test('checkov: no failed check, and every skip has its reason and is used', async () => {
    const { checkov } = iacTools();
    const apps = await allApps();
    const args = ['--framework', 'cloudformation', '--skip-download', '--output', 'json'];
    for (const s of apps) args.push('--file', s.templateFile);
    let stdout = '';
    const connections = await countingConnections(async (env) => {
      ({ stdout } = await run(checkov, args, {
        maxBuffer: 64 * 1024 * 1024,
        // checkov asks PyPI for a newer version unless told not to (its cache may be empty on CI).
        env: { ...env, LOG_LEVEL: 'ERROR', CKV_SKIP_PACKAGE_UPDATE_CHECK: 'true' },
      }).catch((e: { stdout: string }) => ({ stdout: e.stdout })));
    });
    expect(connections).toBe(0);
    const report = JSON.parse(stdout) as {
      summary: { failed: number; parsing_errors: number; passed: number };
      results: {
        failed_checks: { check_id: string; resource: string }[];
        skipped_checks: { check_id: string; resource: string; check_result: { suppress_comment: string } }[];
      };
    };
    expect(report.results.failed_checks.map((c) => `${c.check_id} ${c.resource}`)).toEqual([]);
    expect(report.summary.parsing_errors).toBe(0);
    expect(report.summary.passed).toBeGreaterThan(100);
    // The skips declared in the templates (Metadata.checkov.skip) are the skips checkov applied.
    const declared = apps.flatMap((s) =>
      Object.entries(s.json.Resources).flatMap(([id, r]) =>
        ((r.Metadata?.checkov?.skip ?? []) as { id: string; comment: string }[]).map((k) => ({
          ...k,
          res: `${r.Type}.${id}`,
        })),
      ),
    );
    for (const d of declared) expect(d.comment.length).toBeGreaterThan(20);
    expect(new Set(declared.map((d) => d.id))).toEqual(
      new Set(['CKV_AWS_18', 'CKV_AWS_115', 'CKV_AWS_116', 'CKV_AWS_117']),
    );
    const applied = report.results.skipped_checks.map(
      (c) => `${c.check_id} ${c.resource} ${c.check_result.suppress_comment}`,
    );
    expect(applied.sort()).toEqual(declared.map((d) => `${d.id} ${d.res} ${d.comment}`).sort());
  });
});

describe('npx cdk synth', () => {
  test('works offline: no connection is attempted, the template is written', async () => {
    // The CLI would send telemetry, fetch notices or check versions through the proxy; cdk.json
    // turns them off, so it must see no connection.
    const out = tempDir('cli');
    const started = Date.now();
    const connections = await countingConnections(async (env) => {
      await run('npx', ['cdk', 'synth', '--quiet', '--output', out], {
        cwd: ROOT,
        env: {
          ...env,
          // No credentials on a fresh machine: do not wait for the EC2 metadata service either.
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_ACCESS_KEY_ID: '',
          AWS_SECRET_ACCESS_KEY: '',
          AWS_PROFILE: '',
        },
        maxBuffer: 16 * 1024 * 1024,
      });
    });
    console.log(`npx cdk synth took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(connections).toBe(0);
    const template = JSON.parse(readFileSync(path.join(out, 'Lakehouse-dev.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    const types = Object.values(template.Resources).map((r) => r.Type);
    expect(types.filter((t) => t === 'AWS::S3::Bucket')).toHaveLength(5);
    expect(types.filter((t) => t === 'AWS::Glue::Table').length).toBeGreaterThan(0);
  }, 180_000);
});

describe('documentation', () => {
  test('the README shows the defaults the code uses', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(defaultsMarkdownTable());
  });

  test('every "@default LAKEHOUSE_DEFAULTS.x" of the props names a value of the constant', () => {
    const files = [
      'cdk/storage/lakehouse-storage-props.ts',
      'cdk/catalog/lakehouse-catalog-props.ts',
      'cdk/access/lakehouse-access-props.ts',
    ];
    const refs = files.flatMap((f) =>
      [...readFileSync(path.join(ROOT, f), 'utf8').matchAll(/@default LAKEHOUSE_DEFAULTS\.([\w.<>]+)/g)].map(
        (m) => m[1]!,
      ),
    );
    expect(refs.length).toBeGreaterThan(8);
    for (const ref of refs) {
      const expanded = ref.includes('<role>')
        ? ['reader', 'writer', 'operator'].map((r) => ref.replace('<role>', r))
        : [ref];
      for (const p of expanded) {
        const value = p
          .split('.')
          .reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], LAKEHOUSE_DEFAULTS);
        expect([p, value]).not.toEqual([p, undefined]);
      }
    }
  });

  test("the README's example config file is valid", () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const block = /Example config file:\n\n```yaml\n([\s\S]*?)```/.exec(readme);
    expect(block).not.toBeNull();
    const config = parseAppConfig(parseYaml(block![1]!), 'README example');
    expect(config.env).toBe('prod');
    expect(config.eks?.clusterName).toBe('lake-eks');
  });
});
