import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { isLakehouseError } from '../../lib/errors.js';
import {
  LakeTableSpecError,
  listSpecFiles,
  loadLakeTables,
  readLakeTableDocuments,
} from '../../lib/spec/index.js';
import { baseDoc, docWith } from './fixtures.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'laketables-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const named = (name: string, p = `sales/${name}`) =>
  docWith((d) => {
    d.metadata.name = name;
    d.spec.path = p;
  });

async function collect(paths: string | string[]) {
  const out = [];
  for await (const d of readLakeTableDocuments(paths)) out.push(d);
  return out;
}

describe('loading LakeTable files and folders', () => {
  test('multi-document YAML, .yml, .json and nested folders load in path order; other files and hidden folders are ignored', async () => {
    writeFileSync(path.join(dir, 'b.yaml'), `${stringify(named('b1'))}---\n${stringify(named('b2'))}---\n`);
    mkdirSync(path.join(dir, 'nested', 'deeper'), { recursive: true });
    writeFileSync(path.join(dir, 'nested', 'deeper', 'c.yml'), stringify(named('c')));
    writeFileSync(path.join(dir, 'a.json'), JSON.stringify(named('a')));
    writeFileSync(path.join(dir, 'README.md'), '# not a table');
    mkdirSync(path.join(dir, '.git'));
    writeFileSync(path.join(dir, '.git', 'x.yaml'), 'not: [valid');
    const tables = await loadLakeTables(dir);
    expect(tables.map((t) => t.metadata.name)).toEqual(['a', 'b1', 'b2', 'c']);
    const docs = await collect(dir);
    expect(docs.map((d) => d.document)).toEqual([
      `${path.join(dir, 'a.json')} (LakeTable "a")`,
      `${path.join(dir, 'b.yaml')} document 1 (LakeTable "b1")`,
      `${path.join(dir, 'b.yaml')} document 2 (LakeTable "b2")`,
      `${path.join(dir, 'nested', 'deeper', 'c.yml')} (LakeTable "c")`,
    ]);
  });

  test('a list of files and folders; an explicit file is read whatever its extension', async () => {
    writeFileSync(path.join(dir, 'one.txt'), stringify(named('one')));
    mkdirSync(path.join(dir, 'more'));
    writeFileSync(path.join(dir, 'more', 'two.yaml'), stringify(named('two')));
    const tables = await loadLakeTables([path.join(dir, 'one.txt'), path.join(dir, 'more')]);
    expect(tables.map((t) => t.metadata.name)).toEqual(['one', 'two']);
  });

  test('errors are collected per document: one bad document does not hide the others', async () => {
    const bad = docWith((d) => {
      d.metadata.name = 'bad';
      d.spec.partitionBy = ['region'];
    });
    writeFileSync(path.join(dir, 'x.yaml'), `${stringify(named('good'))}---\n${stringify(bad)}`);
    writeFileSync(path.join(dir, 'y.yaml'), 'apiVersion: lakehouse.dev/v1alpha1\nkind: [unclosed\n');
    writeFileSync(path.join(dir, 'z.yaml'), stringify(named('also-good', 'sales/z')));
    const docs = await collect(dir);
    expect(docs.map((d) => d.ok)).toEqual([true, false, false, true]);
    let err: unknown;
    try {
      await loadLakeTables(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LakeTableSpecError);
    const issues = (err as LakeTableSpecError).issues;
    expect(issues[0]).toEqual({
      document: `${path.join(dir, 'x.yaml')} document 2 (LakeTable "bad")`,
      path: 'spec.partitionBy[0]',
      message: '"region" is not a column: add it to spec.schema.columns or remove it from partitionBy',
    });
    expect(issues[1]!.document).toBe(path.join(dir, 'y.yaml'));
    expect(issues[1]!.message).toMatch(/^not valid YAML: .*; fix the syntax$/);
    expect((err as Error).message.split('\n')).toHaveLength(issues.length);
  });

  test('the same name twice, or the same table under two names, is refused', async () => {
    writeFileSync(path.join(dir, 'a.yaml'), stringify(named('orders', 'sales/a')));
    writeFileSync(path.join(dir, 'b.yaml'), stringify(named('orders', 'sales/b')));
    writeFileSync(path.join(dir, 'c.yaml'), stringify(named('orders-copy', 'sales/a')));
    const err = await loadLakeTables(dir).catch((e: unknown) => e);
    expect(isLakehouseError(err, 'INVALID_SPEC')).toBe(true);
    expect((err as LakeTableSpecError).issues.map((i) => [i.path, i.message])).toEqual([
      [
        'metadata.name',
        `"orders" is already defined by ${path.join(dir, 'a.yaml')} (LakeTable "orders"); give each LakeTable its own name`,
      ],
      [
        'spec.path',
        `the same table as ${path.join(dir, 'a.yaml')} (LakeTable "orders"); define each table once: remove one, or change its location`,
      ],
    ]);
  });

  test('the same name in two namespaces is two tables', async () => {
    const a = named('orders', 'sales/a');
    a.metadata.namespace = 'team-a';
    const b = named('orders', 'sales/b');
    b.metadata.namespace = 'team-b';
    writeFileSync(path.join(dir, 'all.yaml'), `${stringify(a)}---\n${stringify(b)}`);
    expect(await loadLakeTables(dir)).toHaveLength(2);
  });

  test('empty documents and files are skipped; a missing path is INVALID_ARGUMENT', async () => {
    writeFileSync(path.join(dir, 'empty.yaml'), '');
    writeFileSync(path.join(dir, 'comments.yaml'), '# nothing yet\n---\n');
    writeFileSync(path.join(dir, 'one.yaml'), `---\n${stringify(baseDoc())}---\n`);
    expect((await collect(dir)).map((d) => d.document)).toEqual([
      `${path.join(dir, 'one.yaml')} (LakeTable "orders")`,
    ]);
    const err = await listSpecFiles(path.join(dir, 'nope')).catch((e: unknown) => e);
    expect(isLakehouseError(err, 'INVALID_ARGUMENT')).toBe(true);
    expect((err as Error).message).toMatch(
      /nope: no such file or folder; give a LakeTable file or a folder of them/,
    );
  });

  test('YAML anchors cannot blow up memory (alias bombs are refused)', async () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 12; i++)
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    writeFileSync(path.join(dir, 'bomb.yaml'), `${lines.join('\n')}\n`);
    const [doc] = await collect(dir);
    expect(doc!.ok).toBe(false);
    if (!doc!.ok) expect(doc!.issues[0]!.message).toMatch(/^not valid YAML: Excessive alias count/);
  });

  test('a folder of 200 definitions loads under a 64 MiB heap limit', () => {
    const columns = Array.from({ length: 40 }, (_, i) => ({
      name: `c${i}`,
      type: i % 5 === 0 ? 'struct<a:long,b:array<string>,c:map<string,decimal(10,2)>>' : 'string',
      comment: `column ${i} of a wide table`,
    }));
    for (let i = 0; i < 200; i++) {
      const d = baseDoc();
      d.metadata.name = `table-${i}`;
      d.spec.path = `bulk/t${i}`;
      d.spec.schema.columns = [...d.spec.schema.columns, ...columns];
      d.spec.partitionBy = ['day'];
      d.spec.maintenance = {
        compaction: { zOrderBy: ['order_id'] },
        vacuum: { schedule: '0 3 * * *', retention: '168h' },
      };
      mkdirSync(path.join(dir, `group-${i % 10}`), { recursive: true });
      writeFileSync(path.join(dir, `group-${i % 10}`, `t${i}.yaml`), stringify(d));
    }
    // A child process with a hard heap cap: loading fails with an out-of-memory crash if memory
    // grows with anything but the tables themselves.
    const script = `
      const { loadLakeTables } = await import(${JSON.stringify(path.resolve('dist/lib/spec/index.js'))});
      const t0 = performance.now();
      const tables = await loadLakeTables(${JSON.stringify(dir)});
      const ms = performance.now() - t0;
      process.stdout.write(JSON.stringify({ n: tables.length, ms, rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed }));
    `;
    const r = spawnSync(process.execPath, ['--max-old-space-size=64', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { n: number; ms: number; rss: number; heap: number };
    expect(out.n).toBe(200);
    expect(out.heap).toBeLessThan(64 * 1024 * 1024);
    process.stdout.write(
      `200 LakeTables (44 columns each): ${out.ms.toFixed(0)} ms, heap ${(out.heap / 2 ** 20).toFixed(1)} MiB, rss ${(out.rss / 2 ** 20).toFixed(1)} MiB\n`,
    );
  });
});
