/**
 * The lakehouse CDK app (`npx cdk synth`, `npx cdk deploy`): one environment-named stack built from
 * the context and config file described in the README, section "AWS (CDK)".
 */
import { App } from 'aws-cdk-lib';
import { buildLakehouseApp } from '../app/build.js';

const app = new App();
await buildLakehouseApp(app);
app.synth();
