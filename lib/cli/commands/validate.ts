import type { Command } from 'commander';
import { LakehouseError } from '../../errors.js';
import { DefinitionRegistry, formatIssue, readLakeTableDocuments, type SpecIssue } from '../../spec/index.js';
import { printJson } from '../output.js';

/** One document's outcome, as `--format json` prints it. */
interface DocumentReport {
  document: string;
  file: string;
  index: number;
  name?: string;
  valid: boolean;
  issues: { path: string; message: string }[];
}

/**
 * `lakehouse validate <files|dir>...`: check LakeTable definitions without touching any table.
 * Exit 0 when every document is valid; 2 with each invalid document's field paths and what to do.
 */
export function register(program: Command): void {
  program
    .command('validate')
    .description('check LakeTable definitions (files or folders of .yaml/.yml/.json) without touching tables')
    .argument('<paths...>', 'LakeTable files or folders (searched recursively)')
    .option('--format <format>', 'text or json', 'text')
    .action(async (paths: string[], opts: { format: string }) => {
      if (opts.format !== 'text' && opts.format !== 'json') {
        throw new LakehouseError('INVALID_ARGUMENT', `--format must be text or json, got "${opts.format}"`);
      }
      const reports: DocumentReport[] = [];
      const registry = new DefinitionRegistry();
      for await (const d of readLakeTableDocuments(paths)) {
        const issues: SpecIssue[] = d.ok ? registry.add(d.table, d.document) : [...d.issues];
        const name = d.ok ? d.table.metadata.name : d.name;
        reports.push({
          document: d.document,
          file: d.file,
          index: d.index,
          ...(name !== undefined ? { name } : {}),
          valid: issues.length === 0,
          issues: issues.map((i) => ({ path: i.path, message: i.message })),
        });
        if (opts.format === 'text') {
          if (issues.length === 0) process.stdout.write(`ok       ${d.document}\n`);
          else for (const i of issues) process.stderr.write(`invalid  ${formatIssue(i)}\n`);
        }
      }
      const invalid = reports.filter((r) => !r.valid).length;
      if (opts.format === 'json') {
        printJson({ valid: reports.length - invalid, invalid, documents: reports });
      } else {
        process.stdout.write(`${reports.length - invalid} valid, ${invalid} invalid\n`);
      }
      if (reports.length === 0) {
        throw new LakehouseError(
          'INVALID_ARGUMENT',
          `no LakeTable documents in ${paths.join(', ')}; give .yaml, .yml or .json files or folders holding them`,
        );
      }
      if (invalid > 0) {
        throw new LakehouseError(
          'INVALID_SPEC',
          `${invalid} of ${reports.length} LakeTable document${reports.length === 1 ? '' : 's'} invalid; fix the fields listed and run again`,
        );
      }
    });
}
