import type { Command } from 'commander';
import { LakehouseError } from '../../errors.js';
import { deleteRows } from '../../ops/delete.js';
import { printJson } from '../output.js';
import { tableCommand, withStore, type TableCommandOptions } from '../table.js';

/** `lakehouse delete <uri> --where P` (or `--all`) */
export function register(program: Command): void {
  tableCommand(
    program,
    'delete',
    'delete the rows matching a predicate (rewrites or drops the files holding them)',
  )
    .option('--where <predicate>', 'rows to delete, e.g. "day < \'2026-01-01\'"')
    .option('--all', 'delete every row (instead of --where)')
    .action(async (uri: string, opts: TableCommandOptions & { where?: string; all?: boolean }) => {
      if ((opts.where === undefined) === !opts.all) {
        throw new LakehouseError(
          'INVALID_ARGUMENT',
          'delete: give --where PREDICATE, or --all to delete every row',
        );
      }
      await withStore(uri, opts, async (store) => {
        const m = await deleteRows(store, opts.all ? {} : { predicate: opts.where });
        if (opts.format === 'json') return printJson(m);
        if (!m.committed) {
          process.stdout.write(`no row matched; nothing committed (table at version ${m.version})\n`);
          return;
        }
        process.stdout.write(
          `deleted ${m.numDeletedRows} row(s) as version ${m.version}: removed ${m.numRemovedFiles} file(s), ` +
            `wrote ${m.numAddedFiles} (${m.numCopiedRows} row(s) copied); scanned ${m.numFilesScanned} file(s), skipped ${m.numFilesSkipped}\n`,
        );
      });
    });
}
