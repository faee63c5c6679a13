/**
 * The Pulumi program (`main` in Pulumi.yaml). Pulumi's Node.js runtime imports this ESM module
 * (through `--import tsx`, see Pulumi.yaml) and calls the default export; what it returns are
 * the stack outputs.
 */
import { loadStackConfig } from './config.js';
import { lakehouseProgram } from './program.js';

export default async function main(): Promise<Record<string, unknown>> {
  return lakehouseProgram(loadStackConfig());
}
