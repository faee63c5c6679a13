import type { Command } from 'commander';
import { LakehouseError } from '../../errors.js';
import { vacuum } from '../../ops/vacuum.js';
import { checkpoint, cleanupLog } from '../../ops/checkpoint.js';
import { restore } from '../../ops/restore.js';
import { tableHistory } from '../../ops/history.js';
import { describeTable } from '../../ops/describe.js';
import { readInventory } from '../../storage/inventory.js';
import { parseCount, parseKeyValues, parseSize } from '../args.js';
import { formatBytes, formatTable, printJson, Progress } from '../output.js';
import { tableCommand, withStore, type TableCommandOptions } from '../table.js';

/** vacuum, checkpoint, cleanup-log, restore, history, describe. */
export function register(program: Command): void {
  tableCommand(program, 'vacuum', 'delete files no version inside the retention window needs')
    .option(
      '--retention-hours <hours>',
      "retention window (default: the table's delta.deletedFileRetentionDuration, 168)",
    )
    .option('--dry-run', 'list what would be deleted, delete nothing')
    .option('--force', "allow a retention shorter than the table's (unsafe for readers of older versions)")
    .option(
      '--inventory <manifest-uri>',
      'take the listing from an S3 Inventory, Azure blob inventory or GCS inventory manifest (each file re-checked before deletion)',
    )
    .option('--concurrency <n>', 'delete batches in flight (default 4)')
    .option('--max-deletes-per-second <n>', 'rate limit of deletes (default unlimited)')
    .action(
      async (
        uri: string,
        opts: TableCommandOptions & {
          retentionHours?: string;
          dryRun?: boolean;
          force?: boolean;
          inventory?: string;
          concurrency?: string;
          maxDeletesPerSecond?: string;
        },
      ) => {
        await withStore(uri, opts, async (store) => {
          let progress: Progress | undefined;
          if (opts.force && opts.retentionHours !== undefined) {
            process.stderr.write(
              `lakehouse: warning: --force: retention checks are off; files older than ${opts.retentionHours} hours that no current version reads will be deleted\n`,
            );
          }
          const m = await vacuum(store, {
            retentionHours:
              opts.retentionHours === undefined
                ? undefined
                : Number(parseFloatOption(opts.retentionHours, '--retention-hours')),
            dryRun: opts.dryRun,
            force: opts.force,
            ...(opts.inventory
              ? {
                  listing: readInventory(opts.inventory, {
                    tableUri: uri,
                    storageOptions: parseKeyValues(opts.storageOption, '--storage-option'),
                  }),
                }
              : {}),
            ...(opts.concurrency ? { concurrency: parseCount(opts.concurrency, '--concurrency') } : {}),
            ...(opts.maxDeletesPerSecond
              ? {
                  maxDeletesPerSecond: parseFloatOption(opts.maxDeletesPerSecond, '--max-deletes-per-second'),
                }
              : {}),
            onProgress: (done, total) => {
              progress ??= new Progress('vacuum', total);
              progress.update(done);
            },
          });
          progress?.finish();
          if (opts.format === 'json') return printJson(m);
          if (m.dryRun) {
            for (const p of m.deletedPaths) process.stdout.write(`${p}\n`);
            process.stdout.write(
              `would delete ${m.filesDeleted} file(s), ${formatBytes(m.bytesDeleted)} (retention ${m.retentionHours} h)\n`,
            );
          } else {
            process.stdout.write(
              `deleted ${m.filesDeleted} file(s), ${formatBytes(m.bytesDeleted)} (retention ${m.retentionHours} h)\n`,
            );
          }
          if (m.filesKeptForTimeTravel)
            process.stdout.write(
              `kept ${m.filesKeptForTimeTravel} removed file(s) that versions inside the window still read\n`,
            );
          if (m.filesSkippedStale)
            process.stdout.write(
              `skipped ${m.filesSkippedStale} file(s) the inventory listed that are gone or were rewritten since\n`,
            );
          if (m.filesKeptTooYoung)
            process.stdout.write(
              `kept ${m.filesKeptTooYoung} unreferenced file(s) younger than the window (writes may be in flight)\n`,
            );
          if (m.filesKeptInFlight)
            process.stdout.write(
              `kept ${m.filesKeptInFlight} unreferenced file(s) that ${m.writesInFlight} write(s) in flight may still commit (their write leases)\n`,
            );
        });
      },
    );

  tableCommand(program, 'checkpoint', 'write a checkpoint of the latest version now')
    .option(
      '--memory-limit <size>',
      'refuse up front, with an estimate, when the checkpoint would need more memory',
    )
    .action(async (uri: string, opts: TableCommandOptions & { memoryLimit?: string }) => {
      await withStore(uri, opts, async (store) => {
        const r = await checkpoint(
          store,
          opts.memoryLimit ? { memoryLimit: parseSize(opts.memoryLimit, '--memory-limit') } : {},
        );
        if (opts.format === 'json') return printJson(r);
        process.stdout.write(
          `checkpoint at version ${r.version}: ${r.numOfAddFiles} file(s), ${r.size} action(s), ${formatBytes(r.sizeInBytes)} (${r.path})\n`,
        );
      });
    });

  tableCommand(
    program,
    'cleanup-log',
    'delete log files older than delta.logRetentionDuration, behind a checkpoint',
  )
    .option('--dry-run', 'list what would be deleted')
    .action(async (uri: string, opts: TableCommandOptions & { dryRun?: boolean }) => {
      await withStore(uri, opts, async (store) => {
        const r = await cleanupLog(store, { dryRun: opts.dryRun });
        if (opts.format === 'json') return printJson(r);
        for (const p of opts.dryRun ? r.deleted : []) process.stdout.write(`${p}\n`);
        process.stdout.write(
          r.keptFrom === null
            ? 'nothing to clean up: no expired log file sits behind a checkpoint\n'
            : `${opts.dryRun ? 'would delete' : 'deleted'} ${r.deleted.length} log file(s); versions from ${r.keptFrom} remain\n`,
        );
      });
    });

  tableCommand(program, 'restore', 'make the latest version read what an older version read (a new commit)')
    .option('--version <n>', 'version to restore')
    .option('--timestamp <iso>', 'restore the version current at this time, e.g. 2026-01-01T00:00:00Z')
    .action(async (uri: string, opts: TableCommandOptions & { version?: string; timestamp?: string }) => {
      if ((opts.version === undefined) === (opts.timestamp === undefined)) {
        throw new LakehouseError(
          'INVALID_ARGUMENT',
          'restore: give exactly one of --version N or --timestamp ISO-8601',
        );
      }
      await withStore(uri, opts, async (store) => {
        const m = await restore(store, {
          version: opts.version === undefined ? undefined : parseCount(opts.version, '--version'),
          timestamp: opts.timestamp,
        });
        if (opts.format === 'json') return printJson(m);
        process.stdout.write(
          `restored to version ${m.restoredToVersion} as version ${m.version}: ${m.numRestoredFiles} file(s) re-added, ${m.numRemovedFiles} removed; ${m.numOfFilesAfterRestore} file(s), ${formatBytes(m.tableSizeAfterRestore)}\n`,
        );
      });
    });

  tableCommand(program, 'history', 'commits, newest first')
    .option('--limit <n>', 'at most this many commits')
    .action(async (uri: string, opts: TableCommandOptions & { limit?: string }) => {
      await withStore(uri, opts, async (store) => {
        const entries = await tableHistory(store, {
          limit: opts.limit === undefined ? undefined : parseCount(opts.limit, '--limit'),
        });
        if (opts.format === 'json') return printJson(entries);
        const rows = entries.map((e) => [
          e.version,
          e.timestamp,
          e.operation ?? '',
          JSON.stringify(e.operationParameters),
          e.engineInfo ?? '',
        ]);
        process.stdout.write(
          `${formatTable(['version', 'timestamp', 'operation', 'parameters', 'engine'], rows)}\n`,
        );
      });
    });

  tableCommand(program, 'describe', 'schema, partitioning, properties, protocol, files and layout health')
    .option('--version <n>', 'describe this version')
    .action(async (uri: string, opts: TableCommandOptions & { version?: string }) => {
      await withStore(uri, opts, async (store) => {
        const d = await describeTable(store, {
          version: opts.version === undefined ? undefined : parseCount(opts.version, '--version'),
        });
        if (opts.format === 'json') return printJson(d);
        const lines = [
          `location        ${d.location}`,
          `version         ${d.version} (${d.timestamp})`,
          `files           ${d.numFiles} (${formatBytes(d.sizeInBytes)})${d.numRecords === null ? '' : `, ${d.numRecords} rows`}`,
          `small files     ${d.smallFiles} below ${formatBytes(d.smallFileThreshold)}`,
          `partitioned by  ${d.partitionColumns.length ? d.partitionColumns.join(', ') : '(none)'}${d.partitionColumns.length ? ` (${d.numPartitions} partitions)` : ''}`,
          `protocol        reader ${d.protocol.minReaderVersion}, writer ${d.protocol.minWriterVersion}${d.protocol.writerFeatures.length ? `, features: ${[...new Set([...d.protocol.readerFeatures, ...d.protocol.writerFeatures])].join(', ')}` : ''}`,
          `schema`,
          ...d.schema.fields.map(
            (f) =>
              `  ${f.name}: ${typeof f.type === 'string' ? f.type : JSON.stringify(f.type)}${f.nullable ? '' : ' not null'}`,
          ),
          `properties`,
          ...Object.entries(d.properties).map(([k, v]) => `  ${k} = ${v}`),
          `file sizes`,
          ...d.sizeHistogram
            .filter((b) => b.files > 0)
            .map(
              (b) =>
                `  < ${b.upTo === null ? 'inf' : formatBytes(b.upTo)}: ${b.files} file(s), ${formatBytes(b.bytes)}`,
            ),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      });
    });
}

function parseFloatOption(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0)
    throw new LakehouseError('INVALID_ARGUMENT', `${flag}: "${text}" is not a non-negative number`);
  return n;
}
