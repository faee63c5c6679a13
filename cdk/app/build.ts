import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadLakeTables } from '../../lib/spec/index.js';
import { APP_DEFAULTS, readAppConfig } from './config.js';
import { LakehouseStack } from './lakehouse-stack.js';

/**
 * Builds the lakehouse app on `app`: reads the configuration from its context, loads the
 * LakeTable documents of `tablesDir`, adds the stack `Lakehouse-<env>` and the cdk-nag
 * AwsSolutions checks. `cdk/bin/app.ts` and the tests both go through here.
 */
export async function buildLakehouseApp(app: App): Promise<LakehouseStack> {
  const config = readAppConfig(app);
  const tables = await loadLakeTables(config.tablesDir ?? APP_DEFAULTS.tablesDir);
  const env = config.env ?? APP_DEFAULTS.env;
  // An empty variable means "not set" (a shell may export it empty).
  const account = config.account ?? (process.env.CDK_DEFAULT_ACCOUNT || undefined);
  const region = config.region ?? (process.env.CDK_DEFAULT_REGION || undefined);
  const stack = new LakehouseStack(app, `Lakehouse-${env}`, {
    config,
    tables,
    description: `lakehouse-kit: storage zones, Glue catalog and IAM roles of environment ${env}`,
    ...(account !== undefined || region !== undefined ? { env: { account, region } } : {}),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
