import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { createTable } from '../../ops/create.js';
import { parseKeyValues } from '../args.js';
import { printJson } from '../output.js';
import { tableCommand, withStore, type TableCommandOptions } from '../table.js';

/** `--schema`: a file holding Delta schema JSON or a column list, or the text itself. */
export function schemaArgument(text: string): string {
  return existsSync(text) ? readFileSync(text, 'utf8') : text;
}

/** Split `a,b` (and repeated flags) into a list. */
export function listOption(values: string | string[] | undefined): string[] {
  const all = Array.isArray(values) ? values : values === undefined ? [] : [values];
  return all
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
}

/** `lakehouse create <uri> --schema S [--partition-by a,b] [--property K=V]...` */
export function register(program: Command): void {
  tableCommand(program, 'create', 'create an empty table from a schema; fails if a table exists there')
    .requiredOption(
      '--schema <schema>',
      'Delta schema JSON (a file or the text) or a column list such as id:long,name:string,day:date',
    )
    .option('--partition-by <columns>', 'partition columns, comma-separated')
    .option('--property <KEY=VALUE...>', 'table property, e.g. delta.appendOnly=true (repeatable)')
    .option('--name <name>', 'table name recorded in the metadata')
    .option('--description <text>', 'table description recorded in the metadata')
    .action(
      async (
        uri: string,
        opts: TableCommandOptions & {
          schema: string;
          partitionBy?: string;
          property?: string[];
          name?: string;
          description?: string;
        },
      ) => {
        await withStore(uri, opts, async (store) => {
          const r = await createTable(store, {
            schema: schemaArgument(opts.schema),
            partitionBy: listOption(opts.partitionBy),
            properties: parseKeyValues(opts.property, '--property'),
            name: opts.name,
            description: opts.description,
          });
          if (opts.format === 'json') return printJson(r);
          process.stdout.write(
            `created table ${store.root} at version ${r.version}: ${r.schema.fields.length} column(s)` +
              `${r.partitionColumns.length ? `, partitioned by ${r.partitionColumns.join(', ')}` : ''}\n`,
          );
        });
      },
    );
}
