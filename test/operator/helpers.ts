/** Shared pieces of the operator tests: the API server with the LakeTable CRD, LakeTable objects, waiting. */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiException, CoreV1Api, CustomObjectsApi, type CoreV1Event } from '@kubernetes/client-node';
import { startKubeApiServer, type KubeApiServer, type KubeApiServerOptions } from '../harness/kube.js';
import type { KubeLakeTable } from '../../operator/src/types.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const GROUP = 'lakehouse.dev';
export const VERSION = 'v1alpha1';
export const PLURAL = 'laketables';

/** Start the API server and apply the checked-in CRD; resolves when the CRD is Established. */
export async function startWithCrd(options?: KubeApiServerOptions): Promise<KubeApiServer> {
  const kube = await startKubeApiServer(options);
  try {
    const applied = await kube.kubectl(['apply', '-f', path.join(repoRoot, 'operator/deploy/crd.yaml')]);
    if (applied.code !== 0) throw new Error(`applying the CRD failed: ${applied.stderr}`);
    const established = await kube.kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      `crd/${PLURAL}.${GROUP}`,
    ]);
    if (established.code !== 0) throw new Error(`CRD not established: ${established.stderr}`);
  } catch (err) {
    await kube.stop();
    throw err;
  }
  return kube;
}

export function lakeTable(
  name: string,
  spec: Record<string, unknown> = {},
  namespace = 'default',
): KubeLakeTable {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'LakeTable',
    metadata: { name, namespace },
    spec: {
      zone: 'curated',
      path: `t/${name}`,
      schema: {
        columns: [
          { name: 'id', type: 'long', nullable: false },
          { name: 'day', type: 'date', nullable: false },
          { name: 'amount', type: 'decimal(10,2)' },
        ],
      },
      partitionBy: ['day'],
      ...spec,
    },
  } as unknown as KubeLakeTable;
}

export async function getTable(
  api: CustomObjectsApi,
  name: string,
  namespace = 'default',
): Promise<KubeLakeTable | undefined> {
  try {
    return (await api.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL,
      name,
    })) as KubeLakeTable;
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return undefined;
    throw err;
  }
}

export async function createTable(api: CustomObjectsApi, table: KubeLakeTable): Promise<KubeLakeTable> {
  return (await api.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: table.metadata.namespace ?? 'default',
    plural: PLURAL,
    body: table,
  })) as KubeLakeTable;
}

/** Replace the spec (re-reading on conflict). */
export async function updateSpec(
  api: CustomObjectsApi,
  name: string,
  change: (spec: Record<string, any>) => void,
  namespace = 'default',
): Promise<KubeLakeTable> {
  for (;;) {
    const current = (await getTable(api, name, namespace))!;
    change(current.spec as Record<string, any>);
    try {
      return (await api.replaceNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        name,
        body: current,
      })) as KubeLakeTable;
    } catch (err) {
      if (!(err instanceof ApiException && err.code === 409)) throw err;
    }
  }
}

export function condition(table: KubeLakeTable | undefined, type: string) {
  return table?.status?.conditions?.find((c) => c.type === type);
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Wait until the table's status describes its current generation and Ready has the given status. */
export function waitReady(
  api: CustomObjectsApi,
  name: string,
  status: 'True' | 'False' = 'True',
  ms = 60_000,
): Promise<KubeLakeTable> {
  return waitFor(
    `LakeTable ${name} Ready=${status}`,
    async () => {
      const t = await getTable(api, name);
      return t &&
        t.status?.observedGeneration === t.metadata.generation &&
        condition(t, 'Ready')?.status === status
        ? t
        : undefined;
    },
    ms,
  );
}

export async function eventsOf(core: CoreV1Api, name: string, namespace = 'default'): Promise<CoreV1Event[]> {
  const list = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
  return list.items;
}
