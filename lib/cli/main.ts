import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { LakehouseError } from '../errors.js';
import { registerCommands } from './commands/index.js';

/** Exit codes: 0 ok, 1 the operation failed, 2 bad usage or bad input. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function buildProgram(): Command {
  const program = new Command('lakehouse')
    .description('Delta Lake tables on local disk, S3, Azure and GCS: create, write, read and maintain them.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerCommands(program);
  for (const cmd of program.commands) cmd.exitOverride().showHelpAfterError();
  return program;
}

/** Shared option: `--storage-option KEY=VALUE`, repeatable. */
export function storageOptionsOption(): Option {
  return new Option(
    '--storage-option <KEY=VALUE...>',
    'storage setting, e.g. AWS_ENDPOINT_URL=http://127.0.0.1:9000 (repeatable)',
  );
}

/** Run the CLI; returns the exit code instead of exiting, so tests and embedders can call it. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    return reportError(err);
  }
}

export function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // --help and --version end through here too, with exit code 0.
    if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') {
      return EXIT_OK;
    }
    return EXIT_USAGE; // commander already printed its message
  }
  if (err instanceof LakehouseError) {
    process.stderr.write(`lakehouse: error [${err.code}]: ${err.message}\n`);
    return err.isUsageError ? EXIT_USAGE : EXIT_FAILED;
  }
  const e = err as Error;
  process.stderr.write(`lakehouse: unexpected error: ${e?.stack ?? String(err)}\n`);
  return EXIT_FAILED;
}
