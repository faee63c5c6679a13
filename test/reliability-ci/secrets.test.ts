import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

// Scenario 5 (part): a known secret given by --storage-option and by the environment never
// appears in the CLI's output, whether the command fails to connect or is misused.
const SECRET = 'S3cr3t-Value-4f7b2c9e';
const CLI = path.resolve('bin/lakehouse.js');

function run(args: string[]): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    timeout: 90_000,
    env: {
      ...process.env,
      AWS_SECRET_ACCESS_KEY: SECRET,
      AZURE_STORAGE_KEY: SECRET,
      LAKEHOUSE_LOG_LEVEL: 'debug',
    },
  });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

describe('reliability (CI): secrets stay out of CLI output', () => {
  test.each([
    [
      's3, unreachable endpoint',
      [
        'describe',
        's3://bucket/t',
        '--storage-option',
        `AWS_SECRET_ACCESS_KEY=${SECRET}`,
        '--storage-option',
        'AWS_ACCESS_KEY_ID=AKIDRELIABILITY',
        '--storage-option',
        'AWS_ENDPOINT_URL=http://127.0.0.1:9',
        '--storage-option',
        'AWS_ALLOW_HTTP=true',
        '--storage-option',
        'AWS_REGION=us-east-1',
      ],
    ],
    [
      'azure, connection string with the key',
      [
        'history',
        'az://container/t',
        '--storage-option',
        `AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=http;AccountName=dev;AccountKey=${SECRET};BlobEndpoint=http://127.0.0.1:9/dev;`,
      ],
    ],
    ['bad option syntax', ['describe', 's3://bucket/t', '--storage-option', `${SECRET}`]],
  ])(
    '%s',
    (_name, args) => {
      const r = run(args);
      expect(r.status).not.toBe(0);
      expect(r.output.length).toBeGreaterThan(0);
      expect(r.output).not.toContain(SECRET);
    },
    120_000,
  );
});
