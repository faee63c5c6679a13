import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { Command } from 'commander';
import { LakehouseError } from '../../errors.js';
import { planMaintenance, type PlanOptions, type TablePlan } from '../../ops/plan.js';
import { loadPriceOverrides, type Cloud } from '../../ops/pricing.js';
import { loadLakeTables } from '../../spec/load.js';
import { localStorageRoots, resolveSettings, tableLocation } from '../../spec/resolve.js';
import { openStore } from '../../storage/index.js';
import { parseKeyValues, parseSize } from '../args.js';
import { formatBytes, formatTable, printJson } from '../output.js';
import { tableCommand, withStore, type TableCommandOptions } from '../table.js';

interface PlanCommandOptions extends TableCommandOptions {
  prices?: string;
  cloud?: string;
  retentionHours?: string;
  targetSize?: string;
  zorderBy?: string;
  dataDir: string;
}

const CLOUDS: Cloud[] = ['aws', 'azure', 'gcp', 'local'];

/** `lakehouse plan <table|dir-of-LakeTables> [--prices file.json] [--cloud aws] [--format json]` */
export function register(program: Command): void {
  tableCommand(
    program,
    'plan',
    'what optimize, vacuum and checkpoint would do now, with storage requests and cost; changes nothing',
  )
    .option(
      '--prices <file.json>',
      'override request and storage prices, e.g. {"aws": {"writePer1000": 0.005}}',
    )
    .option('--cloud <cloud>', 'price as this cloud: aws, azure, gcp or local (default: from the URI)')
    .option('--retention-hours <hours>', "vacuum retention (default: the table's)")
    .option('--target-size <size>', 'optimize target file size (default 128MiB)')
    .option('--zorder-by <columns>', 'plan a Z-order by these columns')
    .option(
      '--data-dir <dir>',
      'for a folder of LakeTables: where tables without a location live',
      '.lakehouse',
    )
    .action(async (target: string, opts: PlanCommandOptions) => {
      if (opts.cloud !== undefined && !CLOUDS.includes(opts.cloud as Cloud))
        throw new LakehouseError(
          'INVALID_ARGUMENT',
          `--cloud must be one of ${CLOUDS.join(', ')}, got "${opts.cloud}"`,
        );
      const base: PlanOptions = {
        ...(opts.prices ? { prices: await loadPriceOverrides(opts.prices) } : {}),
        ...(opts.cloud ? { cloud: opts.cloud as Cloud } : {}),
        ...(opts.retentionHours !== undefined ? { retentionHours: parseHours(opts.retentionHours) } : {}),
      };
      const optimize = {
        ...(opts.targetSize ? { targetFileSize: parseSize(opts.targetSize, '--target-size') } : {}),
        ...(opts.zorderBy
          ? {
              zOrderBy: opts.zorderBy
                .split(',')
                .map((c) => c.trim())
                .filter(Boolean),
            }
          : {}),
      };
      const specs = await specFolder(target);
      if (!specs) {
        await withStore(target, opts, async (store) => {
          const p = await planMaintenance(store, { ...base, optimize });
          if (opts.format === 'json') return printJson(p);
          process.stdout.write(renderPlan(p));
        });
        return;
      }
      // A folder of LakeTable definitions: plan each table with its own maintenance settings.
      const tables = await loadLakeTables(target);
      const roots = localStorageRoots(path.resolve(opts.dataDir));
      const plans: (TablePlan | { name: string; location: string; missing: string })[] = [];
      for (const table of tables) {
        const location = tableLocation(table, roots);
        const s = resolveSettings(table);
        const store = await openStore(location, parseKeyValues(opts.storageOption, '--storage-option'));
        try {
          plans.push(
            await planMaintenance(store, {
              ...base,
              ...(opts.retentionHours === undefined
                ? { retentionHours: s.vacuum.retentionMs / 3_600_000 }
                : {}),
              optimize: {
                targetFileSize: s.compaction.targetFileSizeBytes,
                minFileSize: s.compaction.minFileSizeBytes,
                ...(s.compaction.zOrderBy.length ? { zOrderBy: s.compaction.zOrderBy } : {}),
                ...optimize,
              },
            }),
          );
        } catch (err) {
          if (!(err instanceof LakehouseError && err.code === 'NOT_A_TABLE')) throw err;
          plans.push({
            name: table.metadata.name,
            location,
            missing: 'not created yet: nothing to maintain',
          });
        } finally {
          await store.close?.();
        }
      }
      if (opts.format === 'json') return printJson(plans);
      for (const p of plans)
        process.stdout.write('missing' in p ? `${p.location}: ${p.missing}\n\n` : `${renderPlan(p)}\n`);
    });
}

/** A local folder that is not a Delta table: a folder of LakeTable files. */
async function specFolder(target: string): Promise<boolean> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target) && !target.startsWith('file://')) return false;
  const dir = target.replace(/^file:\/\//, '');
  const isDir = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) return false;
  return !(await stat(path.join(dir, '_delta_log')).then(
    () => true,
    () => false,
  ));
}

function parseHours(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0)
    throw new LakehouseError('INVALID_ARGUMENT', `--retention-hours: "${text}" is not a non-negative number`);
  return n;
}

function money(n: number, currency: string): string {
  return `${n < 0.01 && n > 0 ? n.toFixed(6) : n.toFixed(4)} ${currency}`;
}

/** The plan as text: one table per operation. */
export function renderPlan(p: TablePlan): string {
  const o = p.optimize;
  const v = p.vacuum;
  const c = p.checkpoint;
  const req = (r: { read: number; write: number; list: number; delete: number }): string =>
    `${r.read} read, ${r.write} write, ${r.list} list, ${r.delete} delete`;
  const lines = [
    `plan for ${p.location} at version ${p.version} (prices: ${p.cloud})`,
    '',
    `optimize: rewrite ${o.filesToRewrite} file(s), ${formatBytes(o.bytesToRewrite)} -> ${o.filesToWrite} file(s); requests ${req(o.requests)}; ${money(o.cost, p.currency)}`,
  ];
  const rewritten = o.plan.partitions.filter((x) => x.action !== 'skip');
  if (rewritten.length)
    lines.push(
      formatTable(
        ['partition', 'action', 'files in', 'bytes in', 'files out'],
        rewritten.map((x) => [x.partition, x.action, x.filesIn, formatBytes(x.bytesIn), x.filesOut]),
      ),
    );
  lines.push(
    '',
    `vacuum (retention ${v.retentionHours} h${v.shorterThanTable ? ", shorter than the table's: needs --force" : ''}): delete ${v.filesToDelete} file(s), ${formatBytes(v.bytesToDelete)}; requests ${req(v.requests)}; ${money(v.cost, p.currency)}; saves ${money(v.monthlyStorageSaving, p.currency)}/month`,
  );
  if (v.partitions.length)
    lines.push(
      formatTable(
        ['folder', 'files', 'bytes'],
        v.partitions.map((x) => [x.partition, x.files, formatBytes(x.bytes)]),
      ),
    );
  lines.push(
    v.timeTravelLost
      ? `time travel lost: versions ${v.timeTravelLost.from} to ${v.timeTravelLost.to}`
      : 'time travel lost: none',
    `kept: ${v.filesKeptForTimeTravel} removed file(s) inside the window, ${v.filesKeptTooYoung} unreferenced file(s) younger than it`,
    '',
    `checkpoint: ${c.due ? 'due' : 'not due'} (${c.commitsSinceCheckpoint} commit(s) since the last, interval ${c.interval}); ${money(c.cost, p.currency)}`,
    '',
    `total: requests ${req(p.totalRequests)}; ${money(p.totalCost, p.currency)}`,
  );
  return `${lines.join('\n')}\n`;
}
