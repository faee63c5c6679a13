import type { Command } from 'commander';
import { openStore } from '../../storage/index.js';
import { parseKeyValues } from '../args.js';
import { formatBytes, formatTable } from '../output.js';
import { storageOptionsOption } from '../main.js';

/** `lakehouse ls <uri>`: list the objects under a location (any backend), in key order. */
export function register(program: Command): void {
  program
    .command('ls')
    .description('list the objects under a location, in key order')
    .argument('<uri>', 'location: path, file://, s3://, abfss://, az:// or gs://')
    .option('--prefix <prefix>', 'only objects whose path starts with this', '')
    .option('--format <format>', 'text or json', 'text')
    .addOption(storageOptionsOption())
    .action(async (uri: string, opts: { prefix: string; format: string; storageOption?: string[] }) => {
      const store = await openStore(uri, parseKeyValues(opts.storageOption, '--storage-option'));
      try {
        const rows = [];
        for await (const meta of store.list(opts.prefix)) rows.push(meta);
        if (opts.format === 'json') {
          process.stdout.write(`${JSON.stringify(rows)}\n`);
        } else {
          const table = rows.map((m) => [
            m.path,
            formatBytes(m.size),
            new Date(m.lastModified).toISOString(),
          ]);
          process.stdout.write(`${formatTable(['path', 'size', 'modified'], table)}\n`);
        }
      } finally {
        await store.close?.();
      }
    });
}
