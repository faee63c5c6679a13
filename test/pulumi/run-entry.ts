/**
 * Runs the program the way Pulumi's Node.js runtime does, outside jest: started by `node` with
 * the `nodeargs` of Pulumi.yaml, it imports the `main` module, calls its default export inside
 * the root stack, with the mocks of harness.ts and the config of the stack file given as
 * argument. Prints `{ resources: { <type>: count }, outputs }` as JSON on stdout.
 *
 *     node --import tsx test/pulumi/run-entry.ts pulumi/index.ts Pulumi.dev-azure.yaml
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT, runWithMocks, stackConfigFile } from './harness.js';

const [main, stackFile] = process.argv.slice(2);
if (main === undefined || stackFile === undefined) {
  console.error('usage: run-entry.ts <main module> <Pulumi.<stack>.yaml>');
  process.exit(2);
}
const started = performance.now();
const run = await runWithMocks(stackConfigFile(stackFile), async () => {
  const module = (await import(pathToFileURL(path.resolve(REPO_ROOT, main)).href)) as {
    default: () => Promise<Record<string, unknown>>;
  };
  return module.default();
});
const counts: Record<string, number> = {};
for (const r of run.resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
process.stdout.write(
  JSON.stringify({
    resources: counts,
    outputs: run.outputs,
    programMs: Math.round(performance.now() - started),
  }) + '\n',
);
