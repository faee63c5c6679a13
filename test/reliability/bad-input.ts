import fc from 'fast-check';
import { mkdtempSync, readdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { batchFromRows } from '../../lib/data/arrow-build.js';
import { parseFilter } from '../../lib/data/expr.js';
import { parseActions, serializeActions } from '../../lib/delta/actions.js';
import { deltaSchemaToArrow } from '../../lib/delta/arrow-schema.js';
import { Snapshot } from '../../lib/delta/snapshot.js';
import { isLakehouseError } from '../../lib/errors.js';
import { checkpoint } from '../../lib/ops/checkpoint.js';
import { createTable, resolveSchema } from '../../lib/ops/create.js';
import { scanTable } from '../../lib/ops/scan.js';
import { writeTable } from '../../lib/ops/write.js';
import { parseLakeTable } from '../../lib/spec/parse.js';
import { LocalObjectStore } from '../../lib/storage/local.js';

/** Run `fn`; it must return or throw a LakehouseError (of `codes`, when given) with a message. */
function expectCleanOutcome(fn: () => unknown, codes?: readonly string[]): void {
  try {
    fn();
  } catch (err) {
    if (!isLakehouseError(err))
      throw new Error(`not a LakehouseError: ${String((err as Error)?.stack ?? err)}`, { cause: err });
    if (codes && !codes.includes(err.code))
      throw new Error(`unexpected code ${err.code}: ${err.message}`, { cause: err });
    if (err.message.length < 10) throw new Error(`unclear message: ${err.message}`, { cause: err });
  }
}

const VALID_COMMIT = new TextDecoder().decode(
  serializeActions([
    { commitInfo: { timestamp: 1, operation: 'WRITE', operationParameters: {} } },
    { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
    {
      metaData: {
        id: 'x',
        format: { provider: 'parquet', options: {} },
        schemaString:
          '{"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}}]}',
        partitionColumns: [],
        configuration: {},
      },
    },
    {
      add: {
        path: 'part-0.parquet',
        partitionValues: {},
        size: 10,
        modificationTime: 1,
        dataChange: true,
        stats: '{"numRecords":1}',
      },
    },
  ]),
);

const VALID_SPEC = {
  apiVersion: 'lakehouse.dev/v1alpha1',
  kind: 'LakeTable',
  metadata: { name: 't' },
  spec: { location: 's3://bucket/t', schema: [{ name: 'id', type: 'long' }] },
};

/** Words the CLI knows, mixed with noise, for argument fuzzing. */
const CLI_WORDS = [
  'create',
  'write',
  'read',
  'delete',
  'optimize',
  'vacuum',
  'checkpoint',
  'restore',
  'history',
  'describe',
  'ls',
  'validate',
  '--schema',
  'id:long',
  'id:bogus',
  '--where',
  'id >',
  '--format',
  'json',
  'text',
  'xml',
  '--retention-hours',
  '-1',
  'NaN',
  '--force',
  '--dry-run',
  '--version',
  'abc',
  '--storage-option',
  'K=V',
  'NOEQUALS',
  '--limit',
  '0',
  '--zorder-by',
  '--partition-by',
  '--mode',
  'upsert',
  '--property',
  '=',
  '',
  '--',
  '-x',
  'file:///nonexistent/t',
  's3://',
  'az://x',
  'gs://b/t',
  '/dev/null',
];

/**
 * Scenario 4 (bad input), as jest tests: fast-check properties over the commit parser, the filter
 * parser, the LakeTable validator and CLI arguments, and corrupted tables. `numRuns` per property.
 */
export function defineBadInputTests(numRuns: number, seed: number): void {
  const params = { numRuns, seed };

  test('commit JSON parser: any text, truncated or mutated commits give actions or CORRUPT_LOG naming the file', () => {
    const mutated = fc
      .tuple(fc.nat(VALID_COMMIT.length), fc.nat(VALID_COMMIT.length), fc.string({ maxLength: 4 }))
      .map(([cut, at, junk]) => VALID_COMMIT.slice(0, at) + junk + VALID_COMMIT.slice(at, Math.max(at, cut)));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), mutated), (text) => {
        try {
          parseActions(text, '00000000000000000007.json');
        } catch (err) {
          if (!isLakehouseError(err, 'CORRUPT_LOG')) throw err;
          if (!err.message.includes('00000000000000000007.json'))
            throw new Error(`file not named: ${err.message}`, { cause: err });
        }
      }),
      params,
    );
  });

  test('filter parser: any text gives an expression or an INVALID_ARGUMENT with a message', () => {
    const tokens = fc.constantFrom(
      'id',
      '=',
      '<',
      '>=',
      'AND',
      'OR',
      'NOT',
      '(',
      ')',
      "'x'",
      '1',
      '1e999',
      'IN',
      'IS',
      'NULL',
      ',',
      '"',
      "'",
      'BETWEEN',
      '-',
    );
    const grammarish = fc.array(tokens, { maxLength: 12 }).map((t) => t.join(' '));
    fc.assert(
      fc.property(fc.oneof(fc.string(), grammarish), (text) => {
        const started = Date.now();
        expectCleanOutcome(() => parseFilter(text), ['INVALID_ARGUMENT']);
        if (Date.now() - started > 1000)
          throw new Error(`parseFilter took over 1 s on ${JSON.stringify(text)}`);
      }),
      // "-." crashed the tokenizer (TypeError) before the fix; found by the 5000-run property.
      { ...params, examples: [['-.'], ['a = -.'], ['-.5 < id']] },
    );
  });

  test('LakeTable validator: any document gives a LakeTable or INVALID_SPEC', () => {
    const mutatedSpec = fc
      .tuple(fc.constantFrom('apiVersion', 'kind', 'metadata', 'spec'), fc.anything())
      .map(([k, v]) => ({ ...VALID_SPEC, [k]: v }));
    const mutatedInner = fc
      .tuple(
        fc.constantFrom('location', 'schema', 'partitionBy', 'properties', 'maintenance'),
        fc.jsonValue(),
      )
      .map(([k, v]) => ({ ...VALID_SPEC, spec: { ...VALID_SPEC.spec, [k]: v } }));
    fc.assert(
      fc.property(fc.oneof(fc.anything(), mutatedSpec, mutatedInner), (doc) => {
        expectCleanOutcome(() => parseLakeTable(doc, 'fuzz.yaml'), ['INVALID_SPEC']);
      }),
      params,
    );
  });

  test('CLI arguments: any argv exits 0, 1 or 2 with no unexpected error and no hang', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lk-fuzz-cli-'));
    const words = fc.oneof(fc.constantFrom(...CLI_WORDS, `file://${dir}/t`), fc.string({ maxLength: 8 }));
    await fc.assert(
      fc.asyncProperty(fc.array(words, { maxLength: 7 }), async (argv) => {
        let err = '';
        const write = process.stderr.write.bind(process.stderr);
        const out = process.stdout.write.bind(process.stdout);
        process.stderr.write = ((c: string | Uint8Array) => (
          (err += String(c)),
          true
        )) as typeof process.stderr.write;
        process.stdout.write = (() => true) as typeof process.stdout.write;
        // The built CLI (dist/): lib/cli finds package.json relative to dist/lib/cli.
        const { main } = (await import('../../dist/lib/cli/main.js')) as {
          main: (argv: string[]) => Promise<number>;
        };
        let code: number;
        try {
          code = await Promise.race([
            main(argv),
            new Promise<number>((_, reject) =>
              setTimeout(() => reject(new Error(`hang: ${JSON.stringify(argv)}`)), 20_000),
            ),
          ]);
        } finally {
          process.stderr.write = write;
          process.stdout.write = out;
        }
        if (![0, 1, 2].includes(code)) throw new Error(`exit ${code} for ${JSON.stringify(argv)}`);
        if (err.includes('unexpected error')) throw new Error(`${JSON.stringify(argv)}: ${err}`);
      }),
      { ...params, numRuns: Math.max(10, Math.floor(numRuns / 4)) },
    );
  });

  test('corrupted tables: truncated commit, missing data file, overwritten checkpoint or data bytes: errors name the file', async () => {
    const schema = deltaSchemaToArrow(resolveSchema('id:long'));
    const fresh = async (): Promise<{ dir: string; store: LocalObjectStore }> => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'lk-corrupt-'));
      const store = new LocalObjectStore(dir);
      await createTable(store, { schema: 'id:long' });
      for (let i = 0; i < 3; i++) await writeTable(store, batchFromRows(schema, [{ id: i }]));
      return { dir, store };
    };
    await fc.assert(
      fc.asyncProperty(fc.double({ min: 0.05, max: 0.95, noNaN: true }), async (fraction) => {
        // Truncated last commit.
        {
          const { dir, store } = await fresh();
          const file = path.join(dir, '_delta_log', '00000000000000000003.json');
          truncateSync(file, Math.floor(readFileSync(file).length * fraction));
          await Snapshot.load(store).then(
            () => undefined, // a cut at a line end leaves valid (fewer) actions
            (err: unknown) => {
              if (!isLakehouseError(err) || !err.message.includes('00000000000000000003.json'))
                throw new Error(`truncated commit: ${String(err)}`);
            },
          );
        }
        // A data file removed behind the log's back.
        {
          const { dir, store } = await fresh();
          const data = readdirSync(dir).find((f) => f.endsWith('.parquet'))!;
          unlinkSync(path.join(dir, data));
          let failure: unknown;
          try {
            for await (const b of await scanTable(store)) void b;
          } catch (err) {
            failure = err;
          }
          if (!isLakehouseError(failure) || !failure.message.includes(data))
            throw new Error(`missing data file ${data}: ${String(failure)}`);
        }
        // A checkpoint Parquet and a data file with 16 bytes overwritten: the load (and the scan)
        // succeed (bytes no reader checks) or fail with an error naming the file; never a crash
        // inside parquet-wasm, never a hang. Both stay readable by later calls in this process.
        {
          const { dir, store } = await fresh();
          await checkpoint(store);
          const log = path.join(dir, '_delta_log');
          const ck = readdirSync(log).find((f) => f.endsWith('.checkpoint.parquet'))!;
          overwrite(path.join(log, ck), fraction);
          const err = await withinSeconds(20, `load with corrupted ${ck}`, () => Snapshot.load(store));
          if (err !== undefined && (!isLakehouseError(err, 'CORRUPT_LOG') || !err.message.includes(ck)))
            throw new Error(`corrupted checkpoint ${ck}: ${String(err)}`, { cause: err });
        }
        {
          const { dir, store } = await fresh();
          const data = readdirSync(dir).find((f) => f.endsWith('.parquet'))!;
          overwrite(path.join(dir, data), fraction);
          const err = await withinSeconds(20, `scan with corrupted ${data}`, async () => {
            for await (const b of await scanTable(store)) void b;
          });
          if (err !== undefined && (!isLakehouseError(err) || !err.message.includes(data)))
            throw new Error(`corrupted data file ${data}: ${String(err)}`, { cause: err });
        }
      }),
      { ...params, numRuns: Math.max(3, Math.floor(numRuns / 20)) },
    );
  });
}

/** Overwrite 16 bytes at `fraction` of a file with a fixed junk pattern. */
function overwrite(file: string, fraction: number): void {
  const bytes = readFileSync(file);
  const at = Math.min(bytes.length - 1, Math.floor(bytes.length * fraction));
  for (let i = 0; i < 16 && at + i < bytes.length; i++) bytes[at + i] = (i * 37 + 11) & 0xff;
  writeFileSync(file, bytes);
}

/** Run `fn`; resolve to its error (undefined when it succeeded); reject if it takes longer than `seconds`. */
async function withinSeconds(seconds: number, what: string, fn: () => Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn().then(
        () => undefined,
        (err: unknown) => err ?? new Error('rejected with nothing'),
      ),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what}: no answer after ${seconds} s (hang)`)),
          seconds * 1000,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
