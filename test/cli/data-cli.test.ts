import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The create / write / read / delete commands, run as a user runs them (the built CLI). */
const BIN = path.resolve('bin/lakehouse.js');
function lakehouse(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lk-data-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lakehouse create / write / read / delete', () => {
  it('creates a table, writes JSON Lines and CSV, reads as jsonl, csv and table, deletes rows', () => {
    const t = path.join(dir, 't');
    let r = lakehouse(
      'create',
      t,
      '--schema',
      'id:long not null,name:string,day:date,amount:decimal(10,2)',
      '--partition-by',
      'day',
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('at version 0: 4 column(s), partitioned by day');
    expect(r.code).toBe(0);

    expect(lakehouse('create', t, '--schema', 'id:long').code).toBe(1);

    const jsonl = path.join(dir, 'rows.jsonl');
    writeFileSync(
      jsonl,
      [
        '{"id":1,"name":"a","day":"2026-01-01","amount":"1.50"}',
        '{"id":2,"name":"b, \\"quoted\\"","day":"2026-01-02","amount":2}',
        '',
        '{"id":3,"name":null,"day":null,"amount":null}',
      ].join('\n'),
    );
    r = lakehouse('write', t, '--input', jsonl, '--format', 'json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ version: 1, numOutputRows: 3, numFiles: 3 });

    const csv = path.join(dir, 'more.csv');
    writeFileSync(csv, 'id,name,day,amount\n4,"multi\nline",2026-01-01,4.25\n5,,2026-01-03,\n');
    r = lakehouse('write', t, '--input', csv);
    expect(r.stdout).toMatch(/^wrote 2 row\(s\) in 2 file\(s\), .* as version 2\n$/);

    r = lakehouse('read', t, '--filter', "day = '2026-01-01'", '--columns', 'id,name,amount');
    expect(r.stdout.trim().split('\n').sort()).toEqual([
      '{"id":1,"name":"a","amount":"1.50"}',
      '{"id":4,"name":"multi\\nline","amount":"4.25"}',
    ]);

    r = lakehouse('read', t, '--format', 'csv', '--filter', 'id <= 2', '--columns', 'id,name,day');
    expect(r.stdout.split('\n').slice(1).filter(Boolean).sort()).toEqual([
      '1,a,2026-01-01',
      '2,"b, ""quoted""",2026-01-02',
    ]);
    expect(r.stdout.split('\n')[0]).toBe('id,name,day');

    r = lakehouse('read', t, '--format', 'table', '--filter', 'id = 3');
    expect(r.stdout).toBe('id  name  day   amount\n--  ----  ----  ------\n3   null  null  null\n');

    r = lakehouse('read', t, '--version', '1', '--limit', '2');
    expect(r.stdout.trim().split('\n')).toHaveLength(2);

    r = lakehouse('delete', t, '--where', 'amount > 2', '--format', 'json');
    expect(JSON.parse(r.stdout)).toMatchObject({ committed: true, numDeletedRows: 1 });
    r = lakehouse('read', t, '--columns', 'id');
    expect(r.stdout.trim().split('\n').sort()).toEqual(['{"id":1}', '{"id":2}', '{"id":3}', '{"id":5}']);
  });

  it('names the offending column and exits 2 on bad input', () => {
    const t = path.join(dir, 'bad');
    expect(lakehouse('create', t, '--schema', 'id:long,day:date').code).toBe(0);
    const jsonl = path.join(dir, 'bad.jsonl');
    writeFileSync(jsonl, '{"id":1,"day":"2026-01-01"}\n{"id":2,"day":"someday"}\n');
    let r = lakehouse('write', t, '--input', jsonl);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad.jsonl line 2: column day');
    expect(r.stderr).toContain('is not a date');
    writeFileSync(jsonl, '{"id":1,"extra":"x"}\n');
    r = lakehouse('write', t, '--input', jsonl);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('extra');
    r = lakehouse('write', t, '--input', jsonl, '--merge-schema');
    expect(r.code).toBe(0);
    r = lakehouse('read', t, '--filter', 'id =');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('filter: expected a literal');
    r = lakehouse('delete', t);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('give --where PREDICATE, or --all');
  });

  it('creates a table from a first write of Parquet and skips a repeated idempotent write', () => {
    const src = path.join(dir, 'src');
    expect(lakehouse('create', src, '--schema', 'k:integer,v:string').code).toBe(0);
    const jsonl = path.join(dir, 'kv.jsonl');
    writeFileSync(jsonl, '{"k":1,"v":"one"}\n{"k":2,"v":"two"}\n');
    expect(lakehouse('write', src, '--input', jsonl, '--compression', 'uncompressed').code).toBe(0);
    const files = lakehouse('ls', src).stdout.match(/part-\S+\.parquet/g)!;
    const parquet = path.join(src, files[0]!);
    const t = path.join(dir, 'from-parquet');
    let r = lakehouse('write', t, '--input', parquet, '--app-id', 'job', '--app-version', '7');
    expect(r.stdout).toContain('created the table and wrote 2 row(s)');
    r = lakehouse('write', t, '--input', parquet, '--app-id', 'job', '--app-version', '7');
    expect(r.stdout).toContain('skipped: app job version 7 is already committed');
    expect(lakehouse('read', t).stdout.trim().split('\n').sort()).toEqual([
      '{"k":1,"v":"one"}',
      '{"k":2,"v":"two"}',
    ]);
  });
});
