import { readdirSync, readFileSync } from 'node:fs';
import {
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
  KubeConfig,
  Watch,
} from '@kubernetes/client-node';
import { startKubeApiServer, type KubeApiServer } from '../harness/kube.js';

// A small CRD with what the operator's LakeTable needs: a status subresource and a CEL rule.
const group = 'test.lakehouse.dev';
const version = 'v1';
const plural = 'widgets';
const namespace = 'default';
const crdYaml = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${plural}.${group}
spec:
  group: ${group}
  scope: Namespaced
  names: { plural: ${plural}, singular: widget, kind: Widget, shortNames: [wdg] }
  versions:
    - name: ${version}
      served: true
      storage: true
      subresources: { status: {} }
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [minSize, maxSize]
              properties:
                minSize: { type: integer, minimum: 0 }
                maxSize: { type: integer }
              x-kubernetes-validations:
                - rule: self.minSize <= self.maxSize
                  message: minSize must not exceed maxSize
            status:
              type: object
              properties:
                phase: { type: string }
                observedGeneration: { type: integer }
`;

interface Widget {
  apiVersion: string;
  kind: string;
  metadata: { name: string; resourceVersion?: string; generation?: number };
  spec: { minSize: number; maxSize: number };
  status?: { phase?: string; observedGeneration?: number };
}

function widget(name: string, minSize: number, maxSize: number): Widget {
  return {
    apiVersion: `${group}/${version}`,
    kind: 'Widget',
    metadata: { name },
    spec: { minSize, maxSize },
  };
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Start a watch. For a moment after a CRD is Established the API server may answer its watches
 * with 429 (watch cache still initializing), so that answer is retried; any other refusal throws.
 * `onDone` hears how an accepted watch ended.
 */
async function startWatch(
  kc: KubeConfig,
  path: string,
  onEvent: (type: string, object: any) => void,
  onDone: (err: unknown) => void,
): Promise<AbortController> {
  return waitFor('the watch to be accepted', async () => {
    let accepted = false;
    let refused: { statusCode?: number } | undefined;
    const controller = await new Watch(kc).watch(path, {}, onEvent, (err) => {
      if (accepted) onDone(err);
      else refused = err ?? {};
    });
    accepted = refused === undefined;
    if (accepted) return controller;
    if (refused?.statusCode !== 429) throw refused;
    return undefined;
  });
}

/** Processes whose command line mentions `text` (here: the run's folder). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

describe('the test kube-apiserver (real kube-apiserver + etcd)', () => {
  let kube: KubeApiServer;
  let kc: KubeConfig;
  let objects: CustomObjectsApi;

  beforeAll(async () => {
    kube = await startKubeApiServer();
    kc = kube.kubeConfig();
    objects = kc.makeApiClient(CustomObjectsApi);
  }, 240_000);

  afterAll(async () => {
    await kube?.stop();
  });

  test('serves the pinned version over TLS to the admin token', async () => {
    const res = await kube.kubectl(['version', '-o', 'json']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const versions = JSON.parse(res.stdout);
    expect(versions.serverVersion.gitVersion).toBe(kube.version);
    expect(versions.clientVersion.gitVersion).toBe(kube.version);
    expect(kube.server).toBe(`https://127.0.0.1:${kube.port}`);
  });

  test('kubectl applies a CRD (server-side dry run first) and it becomes Established', async () => {
    const dryRun = await kube.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: crdYaml });
    expect(dryRun).toMatchObject({ code: 0, stdout: expect.stringContaining('(server dry run)') });
    const apiext = kc.makeApiClient(ApiextensionsV1Api);
    await expect(apiext.readCustomResourceDefinition({ name: `${plural}.${group}` })).rejects.toMatchObject({
      code: 404,
    });

    const applied = await kube.kubectl(['apply', '-f', '-'], { input: crdYaml });
    expect(applied).toMatchObject({
      code: 0,
      stdout: `customresourcedefinition.apiextensions.k8s.io/${plural}.${group} created\n`,
    });
    await waitFor('the CRD to be Established', async () => {
      const crd = await apiext.readCustomResourceDefinition({ name: `${plural}.${group}` });
      const established = crd.status?.conditions?.find((c) => c.type === 'Established');
      return established?.status === 'True' ? crd : undefined;
    });
  });

  test('creates an object, watches ADDED and MODIFIED, and writes status through the subresource', async () => {
    const events: { type: string; object: Widget }[] = [];
    let watchError: unknown;
    const request = await startWatch(
      kc,
      `/apis/${group}/${version}/namespaces/${namespace}/${plural}`,
      (type, object: Widget) => events.push({ type, object }),
      (err) => (watchError = err),
    );
    try {
      const created = (await objects.createNamespacedCustomObject({
        group,
        version,
        namespace,
        plural,
        body: widget('w1', 1, 10),
      })) as Widget;
      expect(created.metadata.generation).toBe(1);
      await waitFor('ADDED', () => events.find((e) => e.type === 'ADDED' && e.object.metadata.name === 'w1'));

      // The status subresource: status changes, spec changes in the same body are ignored.
      const withStatus: Widget = {
        ...created,
        spec: { minSize: 5, maxSize: 6 },
        status: { phase: 'Ready', observedGeneration: 1 },
      };
      const updated = (await objects.replaceNamespacedCustomObjectStatus({
        group,
        version,
        namespace,
        plural,
        name: 'w1',
        body: withStatus,
      })) as Widget;
      expect(updated.status).toEqual({ phase: 'Ready', observedGeneration: 1 });
      expect(updated.spec).toEqual({ minSize: 1, maxSize: 10 });
      expect(updated.metadata.generation).toBe(1);

      const modified = await waitFor('MODIFIED with the status', () =>
        events.find((e) => e.type === 'MODIFIED' && e.object.status?.phase === 'Ready'),
      );
      expect(modified.object.metadata.resourceVersion).toBe(updated.metadata.resourceVersion);

      // A status write from a stale read loses with 409 Conflict (optimistic concurrency).
      await expect(
        objects.replaceNamespacedCustomObjectStatus({
          group,
          version,
          namespace,
          plural,
          name: 'w1',
          body: { ...created, status: { phase: 'Stale' } },
        }),
      ).rejects.toMatchObject({ code: 409 });
      expect(watchError).toBeUndefined();
    } finally {
      request.abort();
    }
  });

  test('the API server rejects an object that breaks the CEL rule, with the rule message', async () => {
    const error = await objects
      .createNamespacedCustomObject({ group, version, namespace, plural, body: widget('bad', 7, 3) })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(error).toBeInstanceOf(ApiException);
    const apiError = error as ApiException<string>;
    expect(apiError.code).toBe(422);
    const status = JSON.parse(apiError.body);
    expect(status.reason).toBe('Invalid');
    expect(status.message).toBe(
      'Widget.test.lakehouse.dev "bad" is invalid: spec: Invalid value: minSize must not exceed maxSize',
    );

    // kubectl's server-side dry run reports the same rejection.
    const dryRun = await kube.kubectl(['apply', '--dry-run=server', '-f', '-'], {
      input: JSON.stringify(widget('bad', 7, 3)),
    });
    expect(dryRun.code).toBe(1);
    expect(dryRun.stderr).toContain('minSize must not exceed maxSize');
  });

  test('RBAC: a ServiceAccount token has exactly the permissions a Role grants', async () => {
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: 'widget-reader' },
        rules: [{ apiGroups: [group], resources: [plural], verbs: ['get', 'list', 'watch'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'widget-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'widget-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace }],
      },
    });
    const reader = await kube.serviceAccountToken(namespace, 'reader');
    expect(reader.username).toBe('system:serviceaccount:default:reader');

    const canI = async (...args: string[]) =>
      (
        await kube.kubectl(['auth', 'can-i', ...args], { kubeconfigPath: reader.kubeconfigPath })
      ).stdout.trim();
    expect(await canI('list', `${plural}.${group}`)).toBe('yes');
    expect(await canI('update', `${plural}.${group}`)).toBe('no');
    expect(await canI('list', 'secrets')).toBe('no');

    const readerConfig = new KubeConfig();
    readerConfig.loadFromFile(reader.kubeconfigPath);
    const readerObjects = readerConfig.makeApiClient(CustomObjectsApi);
    const got = (await readerObjects.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      name: 'w1',
    })) as Widget;
    expect(got.status?.phase).toBe('Ready');
    await expect(
      readerConfig.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace }),
    ).rejects.toMatchObject({ code: 403 });
  });

  test('restart() brings kube-apiserver (and, asked, etcd) back on the same ports with the same data', async () => {
    const before = (await objects.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      name: 'w1',
    })) as Widget;
    await kube.restart();
    const after = (await kc
      .makeApiClient(CustomObjectsApi)
      .getNamespacedCustomObject({ group, version, namespace, plural, name: 'w1' })) as Widget;
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(after.status?.phase).toBe('Ready');

    await kube.restart({ etcd: true });
    const afterEtcd = (await kc
      .makeApiClient(CustomObjectsApi)
      .getNamespacedCustomObject({ group, version, namespace, plural, name: 'w1' })) as Widget;
    expect(afterEtcd.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  }, 240_000);

  test('stop() ends etcd and kube-apiserver and leaves no process behind', async () => {
    const dir = kube.dir;
    expect(processesMentioning(dir).length).toBe(2);
    await kube.stop();
    expect(processesMentioning(dir)).toEqual([]);
    await expect(fetch(`${kube.server}/readyz`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  });
});
