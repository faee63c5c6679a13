import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { canonicalRows } from '../../lib/data/arrow-values.js';
import { CsvParser, inferJsonType, inputFormatOf, readCsv, readJsonLines } from '../../lib/data/input.js';
import { parseColumnList } from '../../lib/ops/create.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lk-input-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function collect(gen: AsyncGenerator<import('apache-arrow').RecordBatch>): Promise<string[]> {
  const out: string[] = [];
  for await (const b of gen) out.push(...canonicalRows(b));
  return out;
}

describe('CSV parser', () => {
  it('handles quotes, escaped quotes, newlines in fields, CRLF and nulls, across any chunking', () => {
    const text = 'a,b,c\r\n1,"x, ""y""",\r\n2,"multi\nline",""\n3,plain,z';
    const expected = [
      ['a', 'b', 'c'],
      ['1', 'x, "y"', null],
      ['2', 'multi\nline', ''],
      ['3', 'plain', 'z'],
    ];
    for (let size = 1; size <= text.length; size++) {
      const p = new CsvParser();
      const records: (string | null)[][] = [];
      for (let i = 0; i < text.length; i += size) records.push(...p.push(text.slice(i, i + size)));
      const last = p.end();
      if (last) records.push(last);
      expect(records).toEqual(expected);
    }
  });

  it('types CSV text by the table schema and names the record of a bad value', async () => {
    const file = path.join(dir, 'a.csv');
    writeFileSync(file, 'id,day,amount\n1,2026-01-01,1.5\n2,,\n');
    const schema = parseColumnList('id:long,day:date,amount:decimal(5,2)');
    expect(await collect(readCsv(file, schema))).toEqual([
      '{"id":1,"day":"2026-01-01","amount":"1.50"}',
      '{"id":2,"day":null,"amount":null}',
    ]);
    writeFileSync(file, 'id,day\n1,2026-01-01\n2,yesterday\n');
    await expect(collect(readCsv(file, schema))).rejects.toThrow('a.csv record 2: column day');
    writeFileSync(file, 'id,day\n1\n');
    await expect(collect(readCsv(file, schema))).rejects.toThrow(
      'a.csv record 1: 1 fields, but the header has 2',
    );
  });
});

describe('JSON Lines', () => {
  it('infers types for new columns and keeps 64-bit integers exact', async () => {
    expect(inferJsonType({ a: 1, b: [1.5], c: 'x' })).toEqual({
      type: 'struct',
      fields: [
        { name: 'a', type: 'long', nullable: true, metadata: {} },
        {
          name: 'b',
          type: { type: 'array', elementType: 'double', containsNull: true },
          nullable: true,
          metadata: {},
        },
        { name: 'c', type: 'string', nullable: true, metadata: {} },
      ],
    });
    const file = path.join(dir, 'a.jsonl');
    writeFileSync(file, '{"id":"9007199254740993","tags":["a"]}\n\n{"id":2,"extra":true}\n');
    expect(await collect(readJsonLines(file, parseColumnList('id:long')))).toEqual([
      '{"id":"9007199254740993","tags":["a"],"extra":null}',
      '{"id":2,"tags":null,"extra":true}',
    ]);
    writeFileSync(file, '{"id":1}\n[1]\n');
    await expect(collect(readJsonLines(file))).rejects.toThrow(
      'a.jsonl line 2: expected a JSON object per line',
    );
  });

  it('tells the format from the extension', () => {
    expect(inputFormatOf('x.ndjson')).toBe('jsonl');
    expect(inputFormatOf('x.CSV')).toBe('csv');
    expect(() => inputFormatOf('x.txt')).toThrow('pass --input-format jsonl|csv|parquet');
  });
});

describe('JSON Lines keys', () => {
  it('matches keys to columns ignoring case and refuses a key the schema lacks', async () => {
    const file = path.join(dir, 'keys.jsonl');
    writeFileSync(file, '{"ID":1}\n');
    expect(await collect(readJsonLines(file, parseColumnList('id:long')))).toEqual(['{"id":1}']);
    const lines = Array.from({ length: 8192 }, (_, i) => `{"id":${i}}`);
    writeFileSync(file, [...lines, '{"id":1,"late":2}'].join('\n'));
    await expect(collect(readJsonLines(file, parseColumnList('id:long')))).rejects.toThrow(
      'keys.jsonl line 8193: column late is not in the schema (id)',
    );
  });
});
