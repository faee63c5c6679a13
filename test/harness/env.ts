import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The cache scripts/test-env.sh installs into (same rule as scripts/lib.sh). */
export function cacheDir(): string {
  return (
    process.env.LAKEHOUSE_CACHE ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'lakehouse-kit')
  );
}

/**
 * The path of a tool the test environment installed. Never skip a test because a tool is
 * missing: fail, and say how to get it.
 */
export function requireTool(description: string, file: string): string {
  if (!existsSync(file)) {
    throw new Error(
      `test environment: ${description} is missing (expected at ${file}). ` +
        `Run "bash scripts/test-env.sh" (npm test runs it) to install it.`,
    );
  }
  return file;
}
