/**
 * `lakehouse start` (what `npm start` runs): the kit's main job on the embedded default, local
 * disk. Reconciles the example LakeTables of the order-fallout pipeline against `./.lakehouse/`
 * (zones raw, curated, models and scratch as folders), appends a run of realistic sample data in
 * many small appends, reconciles again so maintenance does its work, and prints the report.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  localStorageRoots,
  readLakeTableDocuments,
  tableLocation,
  type StorageRoots,
} from '../spec/index.js';
import { openStore, type ObjectStore } from '../storage/index.js';
import {
  formatBytes,
  formatSummary,
  formatTableReport,
  reconcileAll,
  type ReconcileSummary,
} from '../reconcile/index.js';
import { writeSampleData, type SampleWrite } from './sample-data.js';

/** The examples shipped with the package (`examples/lakehouse/`), from `lib/start/` or its build in `dist/lib/start/`. */
export const EXAMPLES_DIR =
  ['../../examples/lakehouse/', '../../../examples/lakehouse/']
    .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
    .find((dir) => existsSync(path.join(dir, '..', '..', 'package.json'))) ??
  path.resolve('examples/lakehouse');

export interface StartOptions {
  /** Folder holding the zones. Default `.lakehouse` (relative to the working directory). */
  readonly dataDir?: string;
  /** LakeTable definitions. Default the package's `examples/lakehouse/`. */
  readonly definitions?: string;
  /** Lines of the human report, as they are ready. Default: none (use the result). */
  readonly print?: (line: string) => void;
}

export interface StartResult {
  readonly dataDir: string;
  readonly setup: ReconcileSummary;
  readonly sample: readonly SampleWrite[];
  readonly maintenance: ReconcileSummary;
  readonly durationMs: number;
}

/** Run the main job. Throws only for unusable options (a missing definitions folder). */
export async function runStart(options: StartOptions = {}): Promise<StartResult> {
  const started = Date.now();
  const print = options.print ?? (() => {});
  const dataDir = path.resolve(options.dataDir ?? '.lakehouse');
  const definitions = options.definitions ?? EXAMPLES_DIR;
  const roots = localStorageRoots(dataDir);
  const shownDefs = shown(definitions);
  const shownData = shown(dataDir);

  print(`lakehouse start: the order-fallout pipeline on local disk`);
  print(`  definitions  ${shownDefs}/  (LakeTable documents: schema, partitioning, maintenance policy)`);
  print(`  tables       ${shownData}/{raw,curated,models,scratch}/  (Delta tables, one folder per zone)`);
  print('');

  print(`1. Reconcile the definitions with the tables`);
  print('');
  const setup = await reconcileAll(definitions, {
    roots,
    onReport: (r) => {
      for (const l of formatTableReport(r, { next: false })) print(`   ${l}`);
      print('');
    },
  });
  print(`   ${formatSummary(setup)}`);
  print('');

  print(`2. Append sample data (many small appends, as streaming ingestion writes them)`);
  print('');
  const targets = await sampleTargets(definitions, roots, setup);
  const sample = await writeSampleData(targets, {
    modelsRoot: roots.default?.models,
    onTable: (w) =>
      print(
        `   ${w.table.padEnd(22)} ${`+${w.rows.toLocaleString('en-US')}`.padStart(8)} rows in ${String(w.appends).padStart(2)} appends -> ${String(w.files).padStart(3)} new files (${formatBytes(w.bytes)}), version ${w.version}, days ${w.days[0]}..${w.days[1]}`,
      ),
  });
  for (const t of targets) await t.store.close?.();
  const rows = sample.reduce((s, w) => s + w.rows, 0);
  const appends = sample.reduce((s, w) => s + w.appends, 0);
  print('');
  print(`   ${rows.toLocaleString('en-US')} rows in ${appends} appends.`);
  print('');

  print(`3. Reconcile again: maintenance decides from each table's policy and measured state`);
  print('');
  const maintenance = await reconcileAll(definitions, {
    roots,
    onReport: (r) => {
      for (const l of formatTableReport(r)) print(`   ${l}`);
      print('');
    },
  });
  print(`   ${formatSummary(maintenance)}`);
  print('');
  const durationMs = Date.now() - started;
  print(
    `Done in ${(durationMs / 1000).toFixed(1)} s. Run \`npm start\` again to append the next days and see maintenance at work.`,
  );
  print(`Look inside:  npx lakehouse describe ${shownData}/raw/order_fallout/order_fallouts`);
  print(`              npx lakehouse history ${shownData}/curated/order_fallout/order_features --limit 5`);
  print(`              npx lakehouse read ${shownData}/models/registry/model_versions --format table`);
  print(`Dry-run a change:  edit ${shownDefs}/ and run  npx lakehouse reconcile ${shownDefs} --dry-run`);
  return { dataDir, setup, sample, maintenance, durationMs };
}

/** A path relative to the working directory when it lies below it, else absolute. */
function shown(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? path.resolve(p) : rel;
}

/** The tables sample data goes to: every definition whose table exists and was not refused or failed. */
async function sampleTargets(
  definitions: string,
  roots: StorageRoots,
  setup: ReconcileSummary,
): Promise<{ name: string; store: ObjectStore }[]> {
  const usable = new Set(
    setup.reports.filter((r) => r.outcome !== 'failed' && r.outcome !== 'refused').map((r) => r.name),
  );
  const out: { name: string; store: ObjectStore }[] = [];
  for await (const d of readLakeTableDocuments(definitions)) {
    if (!d.ok || !usable.has(d.table.metadata.name)) continue;
    out.push({ name: d.table.metadata.name, store: await openStore(tableLocation(d.table, roots)) });
  }
  return out;
}
