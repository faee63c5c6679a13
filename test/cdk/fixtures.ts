/**
 * The CDK apps the tests inspect, each synthesized once per test file (synthesis with cdk-nag
 * takes seconds) into its own folder under the OS temp dir, so cfn-lint and checkov can read
 * the templates.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { buildLakehouseApp } from '../../cdk/app/build.js';
import { LakehouseAccess } from '../../cdk/access/lakehouse-access.js';
import { LakehouseCatalog } from '../../cdk/catalog/lakehouse-catalog.js';
import { LakehouseStorage } from '../../cdk/storage/lakehouse-storage.js';
import { REMOVE_DATA_ON_DESTROY_CONTEXT } from '../../cdk/removal-policy.js';
import { loadLakeTables } from '../../lib/spec/index.js';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const ISSUER_HOST = 'oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE';
export const ROOT = path.resolve(import.meta.dirname, '../..');
export const EXAMPLES = path.join(ROOT, 'examples/lakehouse');
export const EDGE_TABLES = path.join(import.meta.dirname, 'fixtures/tables');

/** One synthesized app. */
export interface Synthesized {
  readonly app: App;
  readonly stack: Stack;
  readonly template: Template;
  /** The stack template as JSON. */
  readonly json: {
    Resources: Record<
      string,
      {
        Type: string;
        Properties?: any;
        Metadata?: any;
        DeletionPolicy?: string;
        UpdateReplacePolicy?: string;
      }
    >;
    Outputs?: Record<string, any>;
  };
  /** The cloud assembly folder. */
  readonly outdir: string;
  /** The stack template file. */
  readonly templateFile: string;
}

/** One acknowledged rule: where, which finding, why. */
export interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

const cache = new Map<string, Promise<any>>();
const tempDirs: string[] = [];

/** A temporary folder that {@link removeTempDirs} deletes. */
export function tempDir(name: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `lakehouse-cdk-${name}-`));
  tempDirs.push(dir);
  return dir;
}

/** Deletes the folders this test file created (call in afterAll). */
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

function synth<E extends object = object>(
  name: string,
  build: (outdir: string) => Promise<{ app: App; stack: Stack } & E>,
): Promise<Synthesized & E> {
  let p = cache.get(name) as Promise<Synthesized & E> | undefined;
  if (!p) {
    p = (async () => {
      const outdir = tempDir(name);
      const built = await build(outdir);
      const { app, stack } = built;
      const assembly = app.synth();
      const artifact = assembly.getStackByName(stack.stackName);
      return {
        ...built,
        app,
        stack,
        template: Template.fromJSON(artifact.template as Record<string, unknown>),
        json: artifact.template,
        outdir,
        templateFile: path.join(outdir, artifact.templateFile),
      };
    })();
    cache.set(name, p);
  }
  return p;
}

/** The app as `cdk synth` builds it, over examples/lakehouse, with IRSA and Pod Identity for the operator. */
export function mainApp(): Promise<Synthesized> {
  return synth('main', async (outdir) => {
    const app = new App({
      outdir,
      context: {
        lakehouse: {
          env: 'test',
          account: ACCOUNT,
          region: REGION,
          tablesDir: EXAMPLES,
          lifecycle: { curated: { glacierInstantRetrievalAfterDays: 180 } },
          eks: { oidcIssuerUrl: `https://${ISSUER_HOST}`, clusterName: 'lake-eks' },
        },
      },
    });
    const stack = await buildLakehouseApp(app);
    return { app, stack };
  });
}

/** The app with removalPolicy destroy; `flag` sets the global "remove data on destroy" context flag. */
export function removalApp(removalPolicy: 'retain' | 'destroy', flag: boolean): Promise<Synthesized> {
  return synth(`removal-${removalPolicy}-${flag}`, async (outdir) => {
    const app = new App({
      outdir,
      context: {
        [REMOVE_DATA_ON_DESTROY_CONTEXT]: flag,
        lakehouse: { env: 'removal', account: ACCOUNT, region: REGION, tablesDir: EXAMPLES, removalPolicy },
      },
    });
    const stack = await buildLakehouseApp(app);
    return { app, stack };
  });
}

/**
 * The constructs used directly: edge-case LakeTables, a central log bucket in another account,
 * Lake Formation mode, a reader limited to one prefix, no writer, Pod Identity only.
 */
export function edgeApp(): Promise<
  Synthesized & { storage: LakehouseStorage; catalog: LakehouseCatalog; access: LakehouseAccess }
> {
  return synth('edge', async (outdir) => {
    const tables = await loadLakeTables(EDGE_TABLES);
    const app = new App({ outdir });
    const stack = new Stack(app, 'Edge', { env: { account: ACCOUNT, region: REGION } });
    const storage = new LakehouseStorage(stack, 'Storage', {
      namePrefix: 'edge',
      tables,
      accessLogs: { bucketName: 'central-access-logs-999999999999', prefix: 's3/edge/' },
      lifecycle: { raw: { intelligentTieringAfterDays: 0, noncurrentVersionExpirationDays: false } },
    });
    const catalog = new LakehouseCatalog(stack, 'Catalog', { storage, tables, lakeFormation: true });
    const access = new LakehouseAccess(stack, 'Access', {
      storage,
      catalog,
      reader: { zones: [{ zone: 'curated', prefixes: ['web/sessions'] }] },
      writer: false,
      operator: { namespace: 'lake-ops', serviceAccount: 'maint', podIdentity: { clusterName: 'edge-eks' } },
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    return { app, stack, storage, catalog, access };
  });
}

/** Every rule acknowledgement (cdk-nag suppressions among them) under `root`, sorted. */
export function acknowledgements(root: IConstruct): Acknowledgement[] {
  const out: Acknowledgement[] = [];
  for (const c of root.node.findAll()) {
    for (const entry of c.node.metadata) {
      if (entry.type !== 'aws:cdk:acknowledged-rules') continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        out.push({ path: c.node.path, id, reason });
      }
    }
  }
  return out.sort((a, b) => (a.path + a.id < b.path + b.id ? -1 : 1));
}

/** The resources of one type in a template, by logical id. */
export function resourcesOf(s: Synthesized, type: string): [string, any][] {
  return Object.entries(s.json.Resources).filter(([, r]) => r.Type === type);
}
