import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The version a setup script in scripts/env.d pins (`NAME="..."`), so the harness looks for the
 * binary the script installed and the two never disagree.
 */
export function pinnedVersion(script: string, variable: string): string {
  const file = path.resolve('scripts/env.d', script);
  const m = new RegExp(`^${variable}="([^"]+)"`, 'm').exec(readFileSync(file, 'utf8'));
  if (!m) throw new Error(`test harness: ${file} does not set ${variable}="..."`);
  return m[1]!;
}
