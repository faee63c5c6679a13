import type { Command } from 'commander';
import { openStore, type ObjectStore } from '../storage/index.js';
import { LakehouseError } from '../errors.js';
import { parseKeyValues } from './args.js';
import { storageOptionsOption } from './main.js';

/** Options every table command accepts. */
export interface TableCommandOptions {
  storageOption?: string[];
  format?: string;
}

/** Add the options shared by table commands: `--storage-option`, `--format text|json`. */
export function tableCommand(program: Command, name: string, description: string): Command {
  return program
    .command(name)
    .description(description)
    .argument('<table-uri>', 'table location: path, file://, s3://, abfss://, az:// or gs://')
    .option('--format <format>', 'output: text or json', 'text')
    .addOption(storageOptionsOption());
}

/** Open the table's store, run `fn`, always close the store. */
export async function withStore<T>(
  uri: string,
  opts: TableCommandOptions,
  fn: (store: ObjectStore) => Promise<T>,
): Promise<T> {
  const format = opts.format ?? 'text';
  if (!['text', 'json', 'jsonl', 'csv', 'table'].includes(format)) {
    throw new LakehouseError('INVALID_ARGUMENT', `--format must be text or json, got "${format}"`);
  }
  const store = await openStore(uri, parseKeyValues(opts.storageOption, '--storage-option'));
  try {
    return await fn(store);
  } finally {
    await store.close?.();
  }
}
