import type { Command } from 'commander';
import { optimize, type OptimizeMetrics } from '../../ops/optimize.js';
import { parseCount, parseSize } from '../args.js';
import { formatBytes, formatTable, printJson, Progress } from '../output.js';
import { tableCommand, withStore, type TableCommandOptions } from '../table.js';

interface OptimizeCommandOptions extends TableCommandOptions {
  targetSize?: string;
  minFileSize?: string;
  where?: string;
  zorderBy?: string;
  dryRun?: boolean;
  concurrency?: string;
  commitEvery?: string;
  memoryLimit?: string;
  spillDir?: string;
  compression?: string;
}

/** `lakehouse optimize <uri> [--target-size 128MiB] [--where P] [--zorder-by a,b] [--dry-run] …` */
export function register(program: Command): void {
  tableCommand(program, 'optimize', 'compact small files into files near a target size, or Z-order them')
    .option('--target-size <size>', 'size the new files aim for (default 128MiB)')
    .option(
      '--min-file-size <size>',
      'files at or above this size are left alone (default 3/4 of the target)',
    )
    .option('--where <predicate>', 'only the partitions this predicate on partition columns selects')
    .option('--zorder-by <columns>', 'cluster rows by these data columns (comma-separated)')
    .option('--dry-run', 'print the plan, change nothing')
    .option(
      '--concurrency <n>',
      'bins rewritten at the same time (default: one per core, at most 4; 1 with --memory-limit)',
    )
    .option('--commit-every <n>', 'commit progress after every N bins (default: one commit at the end)')
    .option('--memory-limit <size>', 'stay under this peak memory, or refuse up front with an estimate')
    .option('--spill-dir <dir>', 'Z-order: local folder for spill files (default: the OS temp folder)')
    .option('--compression <codec>', 'codec of the new files: snappy, zstd, gzip, lz4 or uncompressed')
    .action(async (uri: string, opts: OptimizeCommandOptions) => {
      await withStore(uri, opts, async (store) => {
        let progress: Progress | undefined;
        const m = await optimize(store, {
          ...(opts.targetSize ? { targetFileSize: parseSize(opts.targetSize, '--target-size') } : {}),
          ...(opts.minFileSize ? { minFileSize: parseSize(opts.minFileSize, '--min-file-size') } : {}),
          ...(opts.where ? { where: opts.where } : {}),
          ...(opts.zorderBy
            ? {
                zOrderBy: opts.zorderBy
                  .split(',')
                  .map((c) => c.trim())
                  .filter(Boolean),
              }
            : {}),
          dryRun: opts.dryRun,
          ...(opts.concurrency
            ? { concurrency: Math.max(1, parseCount(opts.concurrency, '--concurrency')) }
            : {}),
          ...(opts.commitEvery ? { commitEvery: parseCount(opts.commitEvery, '--commit-every') } : {}),
          ...(opts.memoryLimit ? { memoryLimit: parseSize(opts.memoryLimit, '--memory-limit') } : {}),
          ...(opts.spillDir ? { spillDirectory: opts.spillDir } : {}),
          ...(opts.compression ? { compression: opts.compression as 'snappy' } : {}),
          onProgress: (done, total) => {
            progress ??= new Progress('optimize', total);
            progress.update(done);
          },
        });
        progress?.finish();
        if (opts.format === 'json') return printJson(m);
        process.stdout.write(describe(m));
      });
    });
}

function describe(m: OptimizeMetrics): string {
  const p = m.plan;
  const lines: string[] = [];
  const rows = p.partitions.map((x) => [
    x.partition,
    x.action,
    x.filesIn,
    formatBytes(x.bytesIn),
    x.action === 'skip' ? 0 : `~${x.filesOut}`,
    x.action === 'skip' ? '' : `~${formatBytes(x.bytesOut)}`,
    x.reason,
  ]);
  if (m.dryRun || m.commits.length === 0) {
    lines.push(
      formatTable(['partition', 'action', 'files in', 'bytes in', 'files out', 'bytes out', 'why'], rows),
    );
    const files = p.partitions.reduce((s, x) => s + x.filesIn, 0);
    const bytes = p.partitions.reduce((s, x) => s + x.bytesIn, 0);
    const capped =
      p.outputFileSize < p.targetFileSize
        ? `, files capped at ${formatBytes(p.outputFileSize)} by the memory limit`
        : '';
    lines.push(
      `${m.dryRun ? 'would rewrite' : 'nothing to do:'} ${files} file(s), ${formatBytes(bytes)} in ${p.numBins} bin(s) ` +
        `at version ${p.version} (target ${formatBytes(p.targetFileSize)}${capped}; concurrency ${p.concurrency}; ` +
        `estimated peak memory ${formatBytes(p.estimatedPeakMemory)})`,
    );
  } else {
    lines.push(
      `optimized ${m.partitionsOptimized} partition(s) as version${m.commits.length > 1 ? 's' : ''} ${m.commits.join(', ')}: ` +
        `removed ${m.numFilesRemoved} file(s) (${formatBytes(m.filesRemoved.totalSize)}), added ${m.numFilesAdded} ` +
        `(${formatBytes(m.filesAdded.totalSize)}); considered ${m.totalConsideredFiles}, skipped ${m.totalFilesSkipped}` +
        (m.numRebases ? `; rebased ${m.numRebases} time(s) on concurrent commits` : '') +
        (m.numBinsDropped
          ? `; dropped ${m.numBinsDropped} bin(s) whose files a concurrent commit removed`
          : ''),
    );
  }
  return `${lines.join('\n')}\n`;
}
