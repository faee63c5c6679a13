import type { Command } from 'commander';
import { LakehouseError } from '../../errors.js';
import { fsck } from '../../ops/fsck.js';
import { formatBytes, printJson } from '../output.js';
import { tableCommand, withStore, type TableCommandOptions } from '../table.js';

/** `lakehouse fsck <uri> [--repair] [--format json]`; exit code 1 when a problem remains. */
export function register(program: Command): void {
  tableCommand(
    program,
    'fsck',
    'check the log against storage: missing files, orphans, log gaps, checkpoint vs commits',
  )
    .option('--repair', 'commit the removal of missing files (operation FSCK); deletes no data')
    .action(async (uri: string, opts: TableCommandOptions & { repair?: boolean }) => {
      await withStore(uri, opts, async (store) => {
        const r = await fsck(store, { repair: opts.repair });
        // Missing files are fixed by --repair; gaps and a bad checkpoint need a person.
        const remaining =
          r.loadError !== null ||
          r.logGaps.some((g) => !g.coveredByCheckpoint) ||
          r.checkpoint?.agrees === false ||
          (r.missingFiles.length > 0 && !r.repair);
        const fail = (): void => {
          // After the report: the exit code (1) tells scripts a problem needs a person.
          if (!remaining) return;
          const problems = [
            ...(r.missingFiles.length && !r.repair
              ? [
                  `${r.missingFiles.length} missing file(s) (run with --repair to remove them; their rows are lost)`,
                ]
              : []),
            ...(r.loadError || r.logGaps.some((g) => !g.coveredByCheckpoint)
              ? ['a log gap no checkpoint covers (restore the missing commits)']
              : []),
            ...(r.checkpoint?.agrees === false
              ? [
                  `checkpoint ${r.checkpoint.version} disagrees with the commits (write a new one: lakehouse checkpoint)`,
                ]
              : []),
          ];
          throw new LakehouseError('CORRUPT_LOG', `fsck: ${store.root}: ${problems.join('; ')}`);
        };
        if (opts.format === 'json') {
          printJson(r);
          return fail();
        }
        const lines: string[] = [`table ${r.location}, version ${r.version ?? 'unreadable'}`];
        if (r.loadError) lines.push(`cannot load the latest version: ${r.loadError}`);
        for (const m of r.missingFiles)
          lines.push(
            `missing ${m.missing === 'data' ? 'data file' : 'deletion vector of'} ${m.path} (${formatBytes(m.size)}, ${m.rows ?? 'unknown'} rows)`,
          );
        if (r.missingFiles.length)
          lines.push(
            `${r.missingFiles.length} missing file(s), ${r.rowsLost ?? 'unknown'} rows${r.repair ? '' : ' (run with --repair to remove them from the table)'}`,
          );
        for (const o of r.orphanFiles)
          lines.push(
            `orphan ${o.path} ${formatBytes(o.size)}, ${o.ageHours.toFixed(1)} h old${o.insideRetention ? ' (inside the retention window)' : ''}`,
          );
        if (r.orphanFiles.length)
          lines.push(
            `${r.orphanFiles.length} orphan file(s), ${formatBytes(r.orphanBytes)} (vacuum deletes those older than the window)`,
          );
        for (const g of r.logGaps)
          lines.push(
            `log gap: commits ${g.from}${g.to === g.from ? '' : `-${g.to}`} missing${g.coveredByCheckpoint ? ' (a checkpoint covers it; time travel into it is lost)' : ' (no checkpoint covers it: the table cannot be read past it)'}`,
          );
        if (r.checkpoint) {
          lines.push(
            r.checkpoint.agrees
              ? `checkpoint ${r.checkpoint.version} agrees with the commits`
              : `checkpoint ${r.checkpoint.version} disagrees with the commits (${r.checkpoint.numDifferences} difference(s)); write a new checkpoint with \`lakehouse checkpoint\`:`,
          );
          for (const d of r.checkpoint.differences) lines.push(`  ${d}`);
        } else if (r.checkpointSkipped) lines.push(`checkpoint not verified: ${r.checkpointSkipped}`);
        if (r.repair)
          lines.push(
            `repaired: version ${r.repair.version} removes ${r.repair.filesRemoved} missing file(s), ${r.repair.rowsLost ?? 'unknown'} rows lost`,
          );
        // A gap a checkpoint covers is reported but leaves the table readable: not 'repaired'.
        lines.push(
          r.ok
            ? 'ok'
            : remaining
              ? 'problems found'
              : r.repair
                ? 'repaired'
                : 'readable; nothing fsck can repair',
        );
        process.stdout.write(`${lines.join('\n')}\n`);
        fail();
      });
    });
}
