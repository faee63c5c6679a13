import type { Command } from 'commander';
import { measureHealth, type LastRun } from '../../ops/health.js';
import { parseSize } from '../args.js';
import { formatBytes, printJson } from '../output.js';
import { tableCommand, withStore, type TableCommandOptions } from '../table.js';

interface HealthCommandOptions extends TableCommandOptions {
  smallFileSize?: string;
  list?: boolean;
}

/** `lakehouse health <uri> [--small-file-size 96MiB] [--no-list] [--format json]` */
export function register(program: Command): void {
  tableCommand(program, 'health', 'layout, log and storage measures of a table, and a score 0-100')
    .option('--small-file-size <size>', 'files below this size are small (default 96MiB, 3/4 of 128MiB)')
    .option('--no-list', 'do not list the table (orphan measures are then unknown)')
    .action(async (uri: string, opts: HealthCommandOptions) => {
      await withStore(uri, opts, async (store) => {
        const h = await measureHealth(store, {
          ...(opts.smallFileSize
            ? { smallFileThreshold: parseSize(opts.smallFileSize, '--small-file-size') }
            : {}),
          list: opts.list !== false,
        });
        if (opts.format === 'json') return printJson(h);
        const age = (r: LastRun | null): string =>
          r
            ? `${r.ageHours.toFixed(1)} h ago${r.version === null ? '' : ` (version ${r.version})`}`
            : `never (in the last ${h.commitsExamined} commits)`;
        const unknown = 'unknown (not listed)';
        const lines = [
          `location          ${h.location}`,
          `version           ${h.version}`,
          `score             ${h.score}/100`,
          ...h.deductions.map((d) => `  -${d.points} ${d.measure}: ${d.reason}`),
          `files             ${h.numFiles} (${formatBytes(h.sizeInBytes)})`,
          `small files       ${h.smallFiles} below ${formatBytes(h.smallFileThreshold)} (${(h.smallFileRatio * 100).toFixed(1)}%)`,
          `since checkpoint  ${h.commitsSinceCheckpoint} commit(s) (interval ${h.checkpointInterval})`,
          `open latest       ${h.openLatestMs.toFixed(1)} ms`,
          `removed, retained ${h.removedFilesInRetention} file(s), ${formatBytes(h.removedBytesInRetention)} (inside the ${h.retentionHours} h window)`,
          `orphans           ${h.orphanFiles === null ? unknown : `${h.orphanFiles} file(s), ${formatBytes(h.orphanBytes ?? 0)}`}`,
          `reclaimable       ${h.reclaimableFiles === null ? unknown : `${h.reclaimableFiles} file(s), ${formatBytes(h.reclaimableBytes ?? 0)} (older than the window)`}`,
          `last optimize     ${age(h.lastOptimize)}`,
          `last vacuum       ${age(h.lastVacuum)}`,
          `last checkpoint   ${h.lastCheckpoint ? age(h.lastCheckpoint) : 'none'}`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      });
    });
}
