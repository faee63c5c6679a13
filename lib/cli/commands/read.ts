import type { Command } from 'commander';
import type { RecordBatch } from 'apache-arrow';
import { canonicalAt, type JsonValue } from '../../data/arrow-values.js';
import { LakehouseError } from '../../errors.js';
import { scanTable } from '../../ops/scan.js';
import { parseKeyValues, parseCount } from '../args.js';
import { formatTable } from '../output.js';
import { storageOptionsOption } from '../main.js';
import { openStore } from '../../storage/index.js';
import { listOption } from './create.js';

/** Rows shown by `--format table` when no `--limit` is given (the table is built in memory). */
export const TABLE_FORMAT_DEFAULT_LIMIT = 100;

/** A CSV field: canonical text, nested values as JSON, quoted when needed; null is empty. */
function csvField(v: JsonValue): string {
  if (v === null) return '';
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return /[",\n\r]/.test(text) || text === '' ? `"${text.replace(/"/g, '""')}"` : text;
}

function cellText(v: JsonValue): string {
  if (v === null) return 'null';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Write a chunk to stdout, waiting when the pipe is full (so huge reads stream, not buffer). */
async function out(text: string): Promise<void> {
  if (!process.stdout.write(text)) await new Promise((resolve) => process.stdout.once('drain', resolve));
}

/** `lakehouse read <uri> [--version N | --timestamp T] [--columns a,b] [--filter P] [--format jsonl|csv|table] [--limit N]` */
export function register(program: Command): void {
  program
    .command('read')
    .description('print the rows of a table (or a version of it), optionally filtered and projected')
    .argument('<table-uri>', 'table location: path, file://, s3://, abfss://, az:// or gs://')
    .option('--version <n>', 'read this version')
    .option('--timestamp <iso>', 'read the version current at this time, e.g. 2026-01-01T00:00:00Z')
    .option('--columns <columns>', 'columns to print, comma-separated, in this order')
    .option('--filter <predicate>', 'keep rows where this holds, e.g. "day = \'2026-01-01\' AND amount > 10"')
    .option('--format <format>', 'jsonl, csv or table', 'jsonl')
    .option(
      '--limit <n>',
      `print at most this many rows (table format: default ${TABLE_FORMAT_DEFAULT_LIMIT})`,
    )
    .option('--stats', 'print scan statistics (files read and skipped) to stderr')
    .addOption(storageOptionsOption())
    .action(
      async (
        uri: string,
        opts: {
          version?: string;
          timestamp?: string;
          columns?: string;
          filter?: string;
          format: string;
          limit?: string;
          stats?: boolean;
          storageOption?: string[];
        },
      ) => {
        if (!['jsonl', 'csv', 'table'].includes(opts.format)) {
          throw new LakehouseError(
            'INVALID_ARGUMENT',
            `--format must be jsonl, csv or table, got "${opts.format}"`,
          );
        }
        if (opts.version !== undefined && opts.timestamp !== undefined) {
          throw new LakehouseError('INVALID_ARGUMENT', 'give --version or --timestamp, not both');
        }
        let limit = opts.limit === undefined ? undefined : parseCount(opts.limit, '--limit');
        const tableDefault = opts.format === 'table' && limit === undefined;
        if (tableDefault) limit = TABLE_FORMAT_DEFAULT_LIMIT + 1;
        const store = await openStore(uri, parseKeyValues(opts.storageOption, '--storage-option'));
        try {
          const scan = await scanTable(store, {
            ...(opts.version !== undefined ? { version: parseCount(opts.version, '--version') } : {}),
            ...(opts.timestamp !== undefined ? { timestamp: opts.timestamp } : {}),
            ...(opts.columns ? { columns: listOption(opts.columns) } : {}),
            ...(opts.filter ? { filter: opts.filter } : {}),
            ...(limit !== undefined ? { limit } : {}),
          });
          const names = scan.schema.fields.map((f) => f.name);
          const rowsOf = (b: RecordBatch): JsonValue[][] =>
            Array.from({ length: b.numRows }, (_, i) => b.data.children.map((c) => canonicalAt(c, i)));
          if (opts.format === 'table') {
            const rows: JsonValue[][] = [];
            for await (const b of scan) rows.push(...rowsOf(b));
            const truncated = tableDefault && rows.length > TABLE_FORMAT_DEFAULT_LIMIT;
            if (truncated) rows.length = TABLE_FORMAT_DEFAULT_LIMIT;
            await out(
              `${formatTable(
                names,
                rows.map((r) => r.map(cellText)),
              )}\n`,
            );
            if (truncated) {
              process.stderr.write(
                `(first ${TABLE_FORMAT_DEFAULT_LIMIT} rows; use --limit N or --format jsonl for more)\n`,
              );
            }
          } else if (opts.format === 'csv') {
            await out(`${names.map((n) => csvField(n)).join(',')}\n`);
            for await (const b of scan) {
              await out(
                rowsOf(b)
                  .map((r) => `${r.map(csvField).join(',')}\n`)
                  .join(''),
              );
            }
          } else {
            for await (const b of scan) {
              let text = '';
              for (let i = 0; i < b.numRows; i++) {
                const row: Record<string, JsonValue> = {};
                names.forEach((n, c) => (row[n] = canonicalAt(b.data.children[c]!, i)));
                text += `${JSON.stringify(row)}\n`;
              }
              await out(text);
            }
          }
          if (opts.stats) {
            const m = scan.metrics;
            process.stderr.write(
              `version ${m.version}: ${m.rowsReturned} row(s); read ${m.filesScanned} of ${m.filesTotal} file(s), skipped ${m.filesSkipped}\n`,
            );
          }
        } finally {
          await store.close?.();
        }
      },
    );
}
