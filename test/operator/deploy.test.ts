/**
 * Every manifest under operator/deploy/ (the kustomize base, each overlay, the GitOps folder) is
 * accepted by a real API server with `kubectl apply --dry-run=server`, and the RBAC in
 * base/rbac.yaml is exactly the permissions operator/src/rbac.ts says the code uses.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { OPERATOR_PERMISSIONS } from '../../operator/src/rbac.js';
import type { KubeApiServer } from '../harness/kube.js';
import { repoRoot, startWithCrd } from './helpers.js';

let kube: KubeApiServer;
beforeAll(async () => {
  kube = await startWithCrd();
  // Server-side dry runs of namespaced objects need their namespaces to exist.
  for (const ns of ['lakehouse-system', 'team-orders']) {
    const r = await kube.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }),
    });
    if (r.code !== 0) throw new Error(r.stderr);
  }
}, 240_000);
afterAll(async () => {
  await kube?.stop();
});

const deploy = path.join(repoRoot, 'operator/deploy');

test.each(['base', 'overlays/aws', 'overlays/azure', 'overlays/gcp', 'overlays/local', 'gitops'])(
  'kustomize %s renders and passes kubectl apply --dry-run=server',
  async (dir) => {
    const rendered = await kube.kubectl(['kustomize', path.join(deploy, dir)]);
    expect(rendered.stderr).toBe('');
    expect(rendered.code).toBe(0);
    const applied = await kube.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: rendered.stdout });
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const kinds = parseAllDocuments(rendered.stdout).map((d) => (d.toJSON() as { kind: string }).kind);
    if (dir !== 'gitops')
      expect(kinds).toEqual(expect.arrayContaining(['Deployment', 'ClusterRole', 'ServiceAccount']));
    else expect(kinds.filter((k) => k === 'LakeTable')).toHaveLength(2);
  },
);

test('the generated CRD passes kubectl apply --dry-run=server', async () => {
  const applied = await kube.kubectl(['apply', '--dry-run=server', '-f', path.join(deploy, 'crd.yaml')]);
  expect(applied.stderr).toBe('');
  expect(applied.code).toBe(0);
});

test('the Deployment runs hardened: non-root, read-only root filesystem, no capabilities, limits, probes', async () => {
  const rendered = await kube.kubectl(['kustomize', path.join(deploy, 'base')]);
  const deployment = parseAllDocuments(rendered.stdout)
    .map((d) => d.toJSON() as Record<string, any>)
    .find((d) => d.kind === 'Deployment')!;
  const pod = deployment.spec.template.spec;
  const c = pod.containers[0];
  expect(pod.securityContext.runAsNonRoot).toBe(true);
  expect(c.securityContext).toMatchObject({
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
  });
  expect(c.resources.requests).toBeDefined();
  expect(c.resources.limits.memory).toBeDefined();
  expect(c.livenessProbe.httpGet.path).toBe('/healthz');
  expect(c.readinessProbe.httpGet.path).toBe('/readyz');
});

test('base/rbac.yaml grants exactly the permissions the code uses', () => {
  const docs = parseAllDocuments(readFileSync(path.join(deploy, 'base/rbac.yaml'), 'utf8')).map(
    (d) => d.toJSON() as Record<string, any>,
  );
  const rules = (name: string) =>
    docs
      .find((d) => (d.kind === 'ClusterRole' || d.kind === 'Role') && d.metadata.name === name)!
      .rules.flatMap((r: { apiGroups: string[]; resources: string[]; verbs: string[] }) =>
        r.resources.map((res) => `${r.apiGroups[0] || 'core'}/${res}: ${[...r.verbs].sort().join(',')}`),
      )
      .sort();
  const expected = (scope: string) =>
    OPERATOR_PERMISSIONS.filter((p) => p.scope === scope)
      .map((p) => `${p.group || 'core'}/${p.resource}: ${[...p.verbs].sort().join(',')}`)
      .sort();
  expect(rules('lakehouse-operator')).toEqual(expected('cluster'));
  expect(rules('lakehouse-operator-secrets')).toEqual(expected('tenant-namespace'));
  expect(rules('lakehouse-operator-leader')).toEqual(expected('operator-namespace'));
});
