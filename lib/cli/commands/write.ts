import type { Command } from 'commander';
import { Snapshot } from '../../delta/snapshot.js';
import { type InputFormat, inputFormatOf, readInput } from '../../data/input.js';
import type { ParquetCompression } from '../../data/parquet-io.js';
import { LakehouseError, isLakehouseError } from '../../errors.js';
import { resolveSchema } from '../../ops/create.js';
import { writeTable } from '../../ops/write.js';
import { parseCount, parseKeyValues, parseSize } from '../args.js';
import { formatBytes, printJson } from '../output.js';
import { tableCommand, withStore, type TableCommandOptions } from '../table.js';
import { listOption, schemaArgument } from './create.js';

interface WriteCommandOptions extends TableCommandOptions {
  input: string;
  inputFormat?: string;
  mode: string;
  replaceWhere?: string;
  mergeSchema?: boolean;
  overwriteSchema?: boolean;
  partitionBy?: string;
  schema?: string;
  property?: string[];
  compression: string;
  targetFileSize?: string;
  rowGroupRows?: string;
  appId?: string;
  appVersion?: string;
  memoryLimit?: string;
}

/** `lakehouse write <uri> --input FILE [--mode append|overwrite] [--replace-where P] [--merge-schema]` */
export function register(program: Command): void {
  tableCommand(
    program,
    'write',
    'write rows from a JSON Lines, CSV or Parquet file (creates the table if needed)',
  )
    .requiredOption(
      '--input <file>',
      'input file (.jsonl, .csv or .parquet; - reads JSON Lines or CSV from stdin)',
    )
    .option('--input-format <format>', 'jsonl, csv or parquet (default: from the file extension)')
    .option('--mode <mode>', 'append or overwrite', 'append')
    .option(
      '--replace-where <predicate>',
      'with --mode overwrite: replace only these rows, e.g. "day = \'2026-01-01\'"',
    )
    .option('--merge-schema', 'add new columns of the input to the table schema')
    .option('--overwrite-schema', 'with --mode overwrite: replace the schema and partitioning')
    .option('--partition-by <columns>', 'partition columns when the write creates the table')
    .option('--schema <schema>', 'schema for a new table or for typing the input (as for create)')
    .option('--property <KEY=VALUE...>', 'table property when the write creates the table (repeatable)')
    .option('--compression <codec>', 'snappy, zstd, gzip, lz4 or uncompressed', 'snappy')
    .option('--target-file-size <size>', 'target data file size, e.g. 128MiB')
    .option('--row-group-rows <n>', 'maximum rows per Parquet row group')
    .option('--app-id <id>', 'idempotent write: application id (with --app-version)')
    .option('--app-version <n>', 'idempotent write: skip if this version was already committed for --app-id')
    .option(
      '--memory-limit <size>',
      'stay under this peak memory (flush buffered rows early, cap file sizes), or refuse up front with an estimate',
    )
    .action(async (uri: string, opts: WriteCommandOptions) => {
      const format = (opts.inputFormat ??
        (opts.input === '-' ? 'jsonl' : inputFormatOf(opts.input))) as InputFormat;
      if (!['jsonl', 'csv', 'parquet'].includes(format)) {
        throw new LakehouseError(
          'INVALID_ARGUMENT',
          `--input-format must be jsonl, csv or parquet, got "${format}"`,
        );
      }
      if (!['snappy', 'zstd', 'gzip', 'lz4', 'uncompressed'].includes(opts.compression)) {
        throw new LakehouseError(
          'INVALID_ARGUMENT',
          `--compression must be snappy, zstd, gzip, lz4 or uncompressed, got "${opts.compression}"`,
        );
      }
      if (opts.mode !== 'append' && opts.mode !== 'overwrite') {
        throw new LakehouseError(
          'INVALID_ARGUMENT',
          `--mode must be append or overwrite, got "${opts.mode}"`,
        );
      }
      await withStore(uri, opts, async (store) => {
        // The input is typed by the table's schema (or --schema), so text values become dates, decimals, ...
        let schema = opts.schema ? resolveSchema(schemaArgument(opts.schema)) : undefined;
        if (!schema) {
          try {
            schema = (await Snapshot.load(store)).schema;
          } catch (err) {
            if (!isLakehouseError(err, 'NOT_A_TABLE')) throw err;
          }
        }
        const m = await writeTable(store, readInput(opts.input, format, schema), {
          mode: opts.mode as 'append' | 'overwrite',
          replaceWhere: opts.replaceWhere,
          mergeSchema: opts.mergeSchema,
          overwriteSchema: opts.overwriteSchema,
          partitionBy: opts.partitionBy === undefined ? undefined : listOption(opts.partitionBy),
          properties: parseKeyValues(opts.property, '--property'),
          compression: opts.compression as ParquetCompression,
          targetFileSize:
            opts.targetFileSize === undefined
              ? undefined
              : parseSize(opts.targetFileSize, '--target-file-size'),
          rowGroupRows:
            opts.rowGroupRows === undefined ? undefined : parseCount(opts.rowGroupRows, '--row-group-rows'),
          appId: opts.appId,
          appVersion:
            opts.appVersion === undefined ? undefined : parseCount(opts.appVersion, '--app-version'),
          ...(opts.memoryLimit ? { memoryLimit: parseSize(opts.memoryLimit, '--memory-limit') } : {}),
        });
        if (opts.format === 'json') return printJson(m);
        if (m.skipped) {
          process.stdout.write(
            `skipped: app ${opts.appId} version ${opts.appVersion} is already committed (table at version ${m.version})\n`,
          );
          return;
        }
        process.stdout.write(
          `${m.createdTable ? 'created the table and wrote' : 'wrote'} ${m.numOutputRows} row(s) in ${m.numFiles} file(s), ` +
            `${formatBytes(m.numOutputBytes)}, as version ${m.version}` +
            `${m.numRemovedFiles ? `; removed ${m.numRemovedFiles} file(s)` : ''}${m.schemaChanged ? '; schema changed' : ''}\n`,
        );
      });
    });
}
