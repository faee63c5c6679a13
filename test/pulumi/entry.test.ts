/**
 * What the Pulumi CLI would start, started the same way without the CLI: `node` with the
 * `nodeargs` of Pulumi.yaml importing its `main` (an ES module in TypeScript), and the policy pack
 * of pulumi/policy serving the analyzer gRPC interface the engine calls.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { LAKEHOUSE_POLICIES, TYPES } from '../../pulumi/policy/rules.js';
import { REPO_ROOT } from './harness.js';

// The engine's side of the analyzer protocol, loaded from where @pulumi/pulumi finds its own
// dependencies, so gRPC and protobuf are the instances its generated stubs use.
const pulumiRequire = createRequire(createRequire(import.meta.url).resolve('@pulumi/pulumi/package.json'));
const grpc = pulumiRequire('@grpc/grpc-js');
const { Struct } = pulumiRequire('google-protobuf/google/protobuf/struct_pb.js');
const { Empty } = pulumiRequire('google-protobuf/google/protobuf/empty_pb.js');
const analyzerGrpc = pulumiRequire('./proto/analyzer_grpc_pb.js');
const analyzerPb = pulumiRequire('./proto/analyzer_pb.js');

interface RuntimeFile {
  runtime: { name: string; options: { typescript: boolean; nodeargs: string } };
  main?: string;
}
const readRuntime = (file: string) =>
  parseYaml(readFileSync(path.join(REPO_ROOT, file), 'utf8')) as RuntimeFile;

/** Runs node with the given args to completion; resolves with stdout, rejects with stderr. */
function runNode(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`node exited ${code}: ${err}`)),
    );
  });
}

test('Pulumi.yaml runs pulumi/index.ts as an ES module through Node with the tsx loader', () => {
  const project = readRuntime('Pulumi.yaml');
  expect(project.runtime).toEqual({
    name: 'nodejs',
    options: { typescript: false, nodeargs: '--import tsx' },
  });
  expect(project.main).toBe('pulumi/index.ts');
  expect(readRuntime('pulumi/policy/PulumiPolicy.yaml').runtime).toEqual(project.runtime);
});

test.each([
  ['Pulumi.dev-azure.yaml', 'azure', 'azure-native:storage:BlobContainer'],
  ['Pulumi.dev-gcp.yaml', 'gcp', 'gcp:storage/bucket:Bucket'],
])(
  'node %s: the entry module registers the stack with the example config',
  async (stackFile, cloud, zoneType) => {
    const project = readRuntime('Pulumi.yaml');
    const out = await runNode(
      [...project.runtime.options.nodeargs.split(' '), 'test/pulumi/run-entry.ts', project.main!, stackFile],
      REPO_ROOT,
    );
    const result = JSON.parse(out.trim().split('\n').pop()!) as {
      resources: Record<string, number>;
      outputs: { cloud: string; storageRoots: { default: Record<string, string> } };
    };
    expect(result.resources['pulumi:pulumi:Stack']).toBe(1);
    expect(result.resources[zoneType]).toBe(4);
    expect(result.outputs.cloud).toBe(cloud);
    expect(Object.keys(result.outputs.storageRoots.default)).toEqual(['raw', 'curated', 'models', 'scratch']);
  },
);

describe('the policy pack, over the analyzer gRPC interface', () => {
  let pack: ChildProcessByStdio<null, Readable, Readable>;
  let client: any;

  beforeAll(async () => {
    const policyDir = path.join(REPO_ROOT, 'pulumi', 'policy');
    const nodeargs = readRuntime('pulumi/policy/PulumiPolicy.yaml').runtime.options.nodeargs.split(' ');
    // Pulumi starts the pack in its folder; the pack prints the port it listens on (127.0.0.1).
    pack = spawn(process.execPath, [...nodeargs, 'index.ts'], {
      cwd: policyDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      let err = '';
      pack.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^(\d+)\s*$/m.exec(out);
        if (m) resolve(Number(m[1]));
      });
      pack.stderr.on('data', (d: Buffer) => (err += d.toString()));
      pack.on('exit', (code) => reject(new Error(`policy pack exited ${code}: ${err}`)));
    });
    client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  afterAll(() => {
    client?.close();
    pack?.kill('SIGTERM');
  });

  const call = <T>(method: string, request: unknown): Promise<T> =>
    new Promise((resolve, reject) =>
      client[method](request, (err: Error | null, resp: T) => (err ? reject(err) : resolve(resp))),
    );

  test('it describes every rule with its enforcement level', async () => {
    const info: any = await call('getAnalyzerInfo', new Empty());
    expect(info.getName()).toBe('lakehouse-security');
    expect(info.getPoliciesList().map((p: any) => p.getName())).toEqual(
      LAKEHOUSE_POLICIES.map((p) => p.name),
    );
  });

  test('it reports violations of a bad storage account, and none for a good one', async () => {
    const analyze = async (props: Record<string, unknown>) => {
      const req = new analyzerPb.AnalyzeRequest();
      req.setType(TYPES.storageAccount);
      req.setName('acct');
      req.setUrn(`urn:pulumi:dev::lakehouse::${TYPES.storageAccount}::acct`);
      req.setProperties(Struct.fromJavaScript(props));
      req.setOptions(new analyzerPb.AnalyzerResourceOptions());
      const resp: any = await call('analyze', req);
      return resp.getDiagnosticsList().map((d: any) => `${d.getPolicyname()}: ${d.getMessage()}`);
    };
    const good = {
      minimumTlsVersion: 'TLS1_2',
      enableHttpsTrafficOnly: true,
      allowBlobPublicAccess: false,
      allowSharedKeyAccess: false,
      networkRuleSet: { defaultAction: 'Deny' },
      encryption: { requireInfrastructureEncryption: true, keySource: 'Microsoft.Storage' },
    };
    expect(await analyze(good)).toEqual([]);
    const bad = await analyze({ ...good, allowBlobPublicAccess: true, minimumTlsVersion: 'TLS1_0' });
    expect(bad).toHaveLength(2);
    expect(bad.join('\n')).toContain('lakehouse-no-public-access');
    expect(bad.join('\n')).toContain('storage account: set allowBlobPublicAccess to false');
    expect(bad.join('\n')).toContain('lakehouse-tls-in-transit');
  });
});
