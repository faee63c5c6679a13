import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { LakehouseError } from '../../errors.js';
import {
  formatSummary,
  formatTableReport,
  formatTime,
  hasProblems,
  reconcileAll,
  type ReconcileSummary,
} from '../../reconcile/index.js';
import {
  listSpecFiles,
  localStorageRoots,
  parseDuration,
  ZONES,
  type StorageRoots,
  type Zone,
} from '../../spec/index.js';
import { runStart } from '../../start/start.js';
import { parseCount, parseKeyValues, parseSize } from '../args.js';
import { storageOptionsOption } from '../main.js';
import { jsonReplacer, printJson } from '../output.js';

interface ReconcileOptions {
  once?: boolean;
  watch?: boolean;
  dryRun?: boolean;
  format: string;
  root?: string[];
  dataDir: string;
  concurrency: string;
  recheck: string;
  storageOption?: string[];
  approve?: string[];
  memoryLimit?: string;
}

/**
 * `lakehouse reconcile <dir>` and `lakehouse start`. Exit codes: 0 every table reconciled (or
 * nothing to do), 1 a table failed or a change was refused, 2 bad usage.
 */
export function register(program: Command): void {
  program
    .command('reconcile')
    .description(
      'make tables match their LakeTable definitions: create, add columns, set properties, run due maintenance',
    )
    .argument('<paths...>', 'LakeTable files or folders (searched recursively)')
    .option('--once', 'reconcile once and exit (the default)')
    .option('--watch', 're-run when a definition changes and when maintenance is next due; stop with Ctrl-C')
    .option('--dry-run', 'report what would be done, change nothing')
    .option('--format <format>', 'text or json (json: one object per pass)', 'text')
    .option(
      '--root <ZONE=URI...>',
      'root of a zone, e.g. raw=s3://acme-raw (repeatable; STORAGE/ZONE=URI for a storage other than "default")',
    )
    .option('--data-dir <dir>', 'zones without --root are folders under this directory', '.lakehouse')
    .option('--concurrency <n>', 'tables reconciled at the same time', '4')
    .option(
      '--recheck <duration>',
      'with --watch: longest sleep between passes (measured triggers such as small files)',
      '1h',
    )
    .option(
      '--approve <plan-id...>',
      'approve these maintenance plans (ids printed on the "plan" line) of tables with maintenance.approval: Manual',
    )
    .option(
      '--memory-limit <size>',
      'compaction stays under this peak memory (e.g. 2Gi), or refuses up front',
    )
    .addOption(storageOptionsOption())
    .action(async (paths: string[], opts: ReconcileOptions) => {
      if (opts.format !== 'text' && opts.format !== 'json') {
        throw new LakehouseError('INVALID_ARGUMENT', `--format must be text or json, got "${opts.format}"`);
      }
      if (opts.once && opts.watch)
        throw new LakehouseError('INVALID_ARGUMENT', 'give --once or --watch, not both');
      const roots = parseRoots(opts.root, opts.dataDir);
      const concurrency = parseCount(opts.concurrency, '--concurrency');
      if (concurrency < 1) throw new LakehouseError('INVALID_ARGUMENT', '--concurrency must be at least 1');
      const storageOptions = parseKeyValues(opts.storageOption, '--storage-option');
      const memoryLimit = opts.memoryLimit ? parseSize(opts.memoryLimit, '--memory-limit') : undefined;
      const pass = async (): Promise<ReconcileSummary> => {
        const summary = await reconcileAll(paths, {
          roots,
          storageOptions,
          concurrency,
          dryRun: !!opts.dryRun,
          ...(opts.approve ? { approvals: opts.approve } : {}),
          ...(memoryLimit !== undefined ? { memoryLimit } : {}),
          onReport: (r) => {
            if (opts.format === 'text') process.stdout.write(`${formatTableReport(r).join('\n')}\n\n`);
          },
        });
        if (opts.format === 'json') {
          if (opts.watch) process.stdout.write(`${JSON.stringify(summary, jsonReplacer)}\n`);
          else printJson(summary);
        } else {
          process.stdout.write(`${formatSummary(summary)}\n`);
        }
        return summary;
      };
      if (!opts.watch) {
        const summary = await pass();
        if (hasProblems(summary)) throw problems(summary);
        return;
      }
      const recheck = parseDuration(opts.recheck);
      if (recheck === undefined || recheck <= 0) {
        throw new LakehouseError(
          'INVALID_ARGUMENT',
          `--recheck: "${opts.recheck}" is not a duration such as 1h or 15m`,
        );
      }
      await watchLoop(paths, pass, recheck, opts.format === 'text');
    });

  program
    .command('start')
    .description(
      'the main job on local disk: create the example tables, append sample data, reconcile and report (npm start)',
    )
    .option('--data-dir <dir>', 'folder holding the zones', '.lakehouse')
    .option('--definitions <dir>', 'LakeTable definitions (default: the examples/lakehouse/ of this package)')
    .option('--format <format>', 'text or json', 'text')
    .action(async (opts: { dataDir: string; definitions?: string; format: string }) => {
      if (opts.format !== 'text' && opts.format !== 'json') {
        throw new LakehouseError('INVALID_ARGUMENT', `--format must be text or json, got "${opts.format}"`);
      }
      const result = await runStart({
        dataDir: opts.dataDir,
        ...(opts.definitions !== undefined ? { definitions: opts.definitions } : {}),
        ...(opts.format === 'text' ? { print: (l: string) => process.stdout.write(`${l}\n`) } : {}),
      });
      if (opts.format === 'json') printJson(result);
      if (hasProblems(result.setup)) throw problems(result.setup);
      if (hasProblems(result.maintenance)) throw problems(result.maintenance);
    });
}

function problems(s: ReconcileSummary): LakehouseError {
  const bad = s.reports.filter((r) => r.outcome === 'failed' || r.outcome === 'refused');
  return new LakehouseError(
    'RECONCILE_FAILED',
    `${bad.length} of ${s.tables} table${s.tables === 1 ? '' : 's'} not reconciled: ${bad
      .map((r) => `${r.name} (${r.outcome})`)
      .join(', ')}; see each table's report above`,
  );
}

/** Zone roots: folders under `dataDir`, overridden by `--root ZONE=URI` / `STORAGE/ZONE=URI`. */
export function parseRoots(pairs: readonly string[] | undefined, dataDir: string): StorageRoots {
  const roots: Record<string, Partial<Record<Zone, string>>> = {
    ...(localStorageRoots(dataDir) as Record<string, Partial<Record<Zone, string>>>),
  };
  for (const [key, uri] of Object.entries(parseKeyValues(pairs as string[] | undefined, '--root'))) {
    const [storage, zone] = key.includes('/') ? key.split('/', 2) : ['default', key];
    if (!(ZONES as readonly string[]).includes(zone!)) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `--root ${key}=…: "${zone}" is not a zone; use one of ${ZONES.join(', ')}, e.g. --root raw=s3://acme-raw`,
      );
    }
    roots[storage!] = { ...(roots[storage!] ?? {}), [zone as Zone]: uri };
  }
  return roots;
}

/**
 * Run `pass` now, then again when a definition changes (debounced), when the earliest scheduled
 * maintenance is due, or after `recheckMs` at the latest; never polls in between. Ends on SIGINT
 * or SIGTERM.
 */
async function watchLoop(
  paths: string[],
  pass: () => Promise<ReconcileSummary>,
  recheckMs: number,
  text: boolean,
): Promise<void> {
  const say = (s: string): void => {
    if (text) process.stderr.write(`${s}\n`);
  };
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  let stopped = false;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));

  const run = async (why: string): Promise<void> => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    clearTimeout(timer);
    say(`-- reconcile ${formatTime(Date.now())} (${why})`);
    let wake = Date.now() + recheckMs;
    try {
      const summary = await pass();
      if (summary.wakeAt) wake = Math.min(wake, Date.parse(summary.wakeAt));
    } catch (err) {
      say(`lakehouse: reconcile pass failed: ${(err as Error).message}`);
    }
    running = false;
    if (again) {
      again = false;
      void run('definitions changed');
      return;
    }
    const delay = Math.max(1000, wake - Date.now());
    say(
      `-- watching ${paths.join(', ')}; next pass at ${formatTime(Date.now() + delay)} or when a definition changes`,
    );
    timer = setTimeout(() => void run('maintenance due'), delay);
  };

  let debounce: NodeJS.Timeout | undefined;
  const changed = (): void => {
    clearTimeout(debounce);
    debounce = setTimeout(() => void run('definitions changed'), 300);
  };
  await listSpecFiles(paths); // INVALID_ARGUMENT for a missing path, before watching
  const watchers: FSWatcher[] = [];
  for (const p of paths) {
    const isDir = (await stat(p)).isDirectory();
    watchers.push(watch(p, { recursive: isDir }, changed));
  }
  const stop = (): void => {
    stopped = true;
    clearTimeout(timer);
    clearTimeout(debounce);
    for (const w of watchers) w.close();
    finish();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await run('start');
  await done;
}
