import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { docWith } from './fixtures.js';

const BIN = path.resolve('bin/lakehouse.js');

/** Runs the built CLI as a user does (npm test builds dist/ first). */
function lakehouse(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'validate-'));
  writeFileSync(path.join(dir, 'good.yaml'), stringify(docWith(() => {})));
  writeFileSync(
    path.join(dir, 'bad.yaml'),
    `${stringify(
      docWith((d) => {
        d.metadata.name = 'bad-one';
        d.spec.path = 'sales/bad';
        d.spec.partitionBy = ['region'];
        d.spec.maintenance = { vacuum: { retention: '7d' } };
      }),
    )}---\n${stringify(
      docWith((d) => {
        d.metadata.name = 'bad-two';
        d.spec.path = 'sales/bad2';
        d.spec.zone = 'scratch';
      }),
    )}`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lakehouse validate', () => {
  test('the examples are valid: exit 0, one line per document', () => {
    const r = lakehouse(['validate', 'examples/lakehouse']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^ok {7}examples\/lakehouse\/raw-order-fallouts\.yaml \(LakeTable "raw-order-fallouts"\)$/m,
    );
    expect(r.stdout.trim().split('\n').pop()).toBe('5 valid, 0 invalid');
  });

  test('invalid documents: exit 2, each problem with document, field path and what to do', () => {
    const r = lakehouse(['validate', dir]);
    expect(r.code).toBe(2);
    const bad = path.join(dir, 'bad.yaml');
    expect(r.stderr.split('\n')).toEqual([
      `invalid  ${bad} document 1 (LakeTable "bad-one"): spec.maintenance.vacuum.retention: not a duration; use hours, minutes and seconds such as "168h", "90m" or "1h30m" (7 days = "168h")`,
      `invalid  ${bad} document 1 (LakeTable "bad-one"): spec.partitionBy[0]: "region" is not a column: add it to spec.schema.columns or remove it from partitionBy`,
      `invalid  ${bad} document 2 (LakeTable "bad-two"): spec.persistence: the scratch zone holds ephemeral data: set persistence: ephemeral, or use another zone`,
      'lakehouse: error [INVALID_SPEC]: 2 of 3 LakeTable documents invalid; fix the fields listed and run again',
      '',
    ]);
    expect(r.stdout).toBe(
      `ok       ${path.join(dir, 'good.yaml')} (LakeTable "orders")\n1 valid, 2 invalid\n`,
    );
  });

  test('--format json reports every document', () => {
    const r = lakehouse([
      'validate',
      path.join(dir, 'bad.yaml'),
      path.join(dir, 'good.yaml'),
      '--format',
      'json',
    ]);
    expect(r.code).toBe(2);
    const report = JSON.parse(r.stdout);
    expect(report.valid).toBe(1);
    expect(report.invalid).toBe(2);
    expect(report.documents[0]).toEqual({
      document: `${path.join(dir, 'bad.yaml')} document 1 (LakeTable "bad-one")`,
      file: path.join(dir, 'bad.yaml'),
      index: 1,
      name: 'bad-one',
      valid: false,
      issues: [
        {
          path: 'spec.maintenance.vacuum.retention',
          message:
            'not a duration; use hours, minutes and seconds such as "168h", "90m" or "1h30m" (7 days = "168h")',
        },
        {
          path: 'spec.partitionBy[0]',
          message: '"region" is not a column: add it to spec.schema.columns or remove it from partitionBy',
        },
      ],
    });
    expect(report.documents[2]).toMatchObject({ name: 'orders', valid: true, issues: [] });
  });

  test('a missing path exits 2 and says what to give', () => {
    const r = lakehouse(['validate', path.join(dir, 'missing')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing: no such file or folder; give a LakeTable file or a folder of them/);
  });

  test('a folder without definitions exits 2', () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'validate-empty-'));
    try {
      const r = lakehouse(['validate', empty]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /no LakeTable documents in .*; give \.yaml, \.yml or \.json files or folders holding them/,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test('--help lists validate', () => {
    expect(lakehouse(['--help']).stdout).toMatch(/validate \[options\] <paths\.\.\.>/);
  });
});
