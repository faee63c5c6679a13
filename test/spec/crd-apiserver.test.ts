/**
 * The generated CRD against a real kube-apiserver (test/harness/kube.ts): the API server accepts
 * it (structural schema, CEL rules within its cost budget), admits the examples, and refuses
 * each cross-field violation with the rule's message.
 */
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { CRD_PATH, loadLakeTables } from '../../lib/spec/index.js';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube.js';
import { baseDoc, crossFieldCases, fullDoc } from './fixtures.js';

let kube: KubeApiServer;
beforeAll(async () => {
  kube = await startKubeApiServer();
  const applied = await kube.kubectl(['apply', '-f', '-'], { input: readFileSync(CRD_PATH, 'utf8') });
  expect(applied.stderr).toBe('');
  const established = await kube.kubectl([
    'wait',
    '--for=condition=Established',
    'crd/laketables.lakehouse.dev',
    '--timeout=60s',
  ]);
  expect(established.code).toBe(0);
}, 180_000);
afterAll(async () => kube?.stop());

/** `kubectl apply --dry-run=server` of a document as JSON (no YAML 1.1 "yes"/"no" surprises). */
async function dryRun(doc: Record<string, any>) {
  const d = structuredClone(doc);
  if (d.metadata) d.metadata.namespace = 'default';
  return kube.kubectl(['apply', '--dry-run=server', '-o', 'name', '-f', '-'], { input: JSON.stringify(d) });
}

describe('the LakeTable CRD on a real API server', () => {
  test('the examples and complete documents are admitted', async () => {
    const docs = [baseDoc(), fullDoc(), ...(await loadLakeTables('examples/lakehouse'))];
    for (const doc of docs) {
      const r = await dryRun(doc as Record<string, any>);
      expect([doc.metadata.name, r.stderr]).toEqual([doc.metadata.name, '']);
      expect(r.code).toBe(0);
    }
  });

  const crossField = crossFieldCases()
    .filter(([, , broken]) => broken.some((r) => r.cel !== undefined))
    .map(([what, doc, broken]) => [what, doc, broken.find((r) => r.cel !== undefined)!.message] as const);

  test.each(crossField)(
    '%s: refused by the API server with the rule\u2019s message',
    async (_what, doc, message) => {
      const r = await dryRun(doc);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(message);
    },
  );

  test('kubectl explain shows the schema\u2019s descriptions', async () => {
    const r = await kube.kubectl(['explain', 'laketable.spec.maintenance.vacuum.retention']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/never less than it,\s+nor less than 168h unless unsafeAllowShortRetention/);
  });

  test('printer columns: kubectl get shows version, files, small files, score, ready and age', async () => {
    const doc = baseDoc();
    doc.metadata.namespace = 'default';
    const created = await kube.kubectl(['apply', '-f', '-'], { input: stringify(doc) });
    expect(created.code).toBe(0);
    const r = await kube.kubectl(['get', 'lt', 'orders', '-n', 'default']);
    expect(r.stdout.split('\n')[0]).toMatch(/^NAME\s+VERSION\s+FILES\s+SMALL FILES\s+SCORE\s+READY\s+AGE$/);
  });
});
