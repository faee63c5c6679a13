/** Writes operator/deploy/crd.yaml from the LakeTable schema (`npm run gen:crd`). */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { CRD_PATH, renderCrdYaml } from '../lib/spec/crd.js';

const out = path.resolve(CRD_PATH);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, renderCrdYaml());
process.stdout.write(`wrote ${CRD_PATH}\n`);
