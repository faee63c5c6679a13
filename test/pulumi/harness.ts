/**
 * Runs the Pulumi program in-process with `pulumi.runtime.setMocks` (the Pulumi CLI and cloud
 * accounts are not needed) and records every resource registration: type, name, inputs, and the
 * `protect` / `retainOnDelete` options exactly as they would reach the engine.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
// MockMonitor is the class setMocks installs; wrapping it lets us see the gRPC request itself.
import { MockMonitor } from '@pulumi/pulumi/runtime/mocks.js';
import { parse as parseYaml } from 'yaml';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

export const SUBSCRIPTION_ID = '00000000-0000-0000-0000-000000000001';
export const TENANT_ID = '00000000-0000-0000-0000-0000000000aa';
export const GCS_SERVICE_AGENT = 'service-123456@gs-project-accounts.iam.gserviceaccount.com';

/** One resource as the program registered it. */
export interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, any>;
  readonly state: Record<string, any>;
  readonly custom: boolean;
  readonly protect: boolean | undefined;
  readonly retainOnDelete: boolean | undefined;
}

/** The outputs a provider would compute for the resource types the program uses. */
function computedState(type: string, name: string, inputs: Record<string, any>): { id: string; state: any } {
  const rg = `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${inputs.resourceGroupName ?? 'rg'}`;
  switch (type) {
    case 'azure-native:resources:ResourceGroup':
      return { id: rg, state: { ...inputs, name: inputs.resourceGroupName } };
    case 'azure-native:storage:StorageAccount': {
      const id = `${rg}/providers/Microsoft.Storage/storageAccounts/${inputs.accountName}`;
      return { id, state: { ...inputs, name: inputs.accountName } };
    }
    case 'azure-native:storage:BlobContainer': {
      const id =
        `${rg}/providers/Microsoft.Storage/storageAccounts/${inputs.accountName}` +
        `/blobServices/default/containers/${inputs.containerName}`;
      return { id, state: { ...inputs, name: inputs.containerName } };
    }
    case 'azure-native:managedidentity:UserAssignedIdentity': {
      const id = `${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${inputs.resourceName}`;
      return {
        id,
        state: {
          ...inputs,
          name: inputs.resourceName,
          principalId: `principal-of-${inputs.resourceName}`,
          clientId: `client-of-${inputs.resourceName}`,
        },
      };
    }
    case 'azure-native:dbforpostgresql:Server':
      return {
        id: `${rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${inputs.serverName}`,
        state: {
          ...inputs,
          name: inputs.serverName,
          fullyQualifiedDomainName: `${inputs.serverName}.postgres.database.azure.com`,
        },
      };
    case 'azure-native:dbforpostgresql:Database':
      return { id: `${name}-id`, state: { ...inputs, name: inputs.databaseName } };
    case 'azure-native:databricks:AccessConnector':
      return {
        id: `${rg}/providers/Microsoft.Databricks/accessConnectors/${inputs.connectorName}`,
        state: {
          ...inputs,
          name: inputs.connectorName,
          identity: { ...inputs.identity, principalId: 'principal-of-unity' },
        },
      };
    case 'gcp:serviceaccount/account:Account': {
      const email = `${inputs.accountId}@${inputs.project}.iam.gserviceaccount.com`;
      return {
        id: email,
        state: {
          ...inputs,
          email,
          member: `serviceAccount:${email}`,
          name: `projects/${inputs.project}/serviceAccounts/${email}`,
        },
      };
    }
    case 'gcp:bigquery/connection:Connection':
      return {
        id: `${inputs.connectionId}`,
        state: {
          ...inputs,
          name: `projects/${inputs.project}/locations/${inputs.location}/connections/${inputs.connectionId}`,
          cloudResource: {
            serviceAccountId: 'bqcx-123456-abcd@gcp-sa-bigquery-condel.iam.gserviceaccount.com',
          },
        },
      };
    default:
      return { id: `${name}-id`, state: { ...inputs, name: inputs.name ?? name } };
  }
}

class Mocks implements pulumi.runtime.Mocks {
  newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, any> } {
    return computedState(args.type, args.name, args.inputs);
  }
  call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
    switch (args.token) {
      case 'azure-native:authorization:getClientConfig':
        return {
          subscriptionId: SUBSCRIPTION_ID,
          tenantId: TENANT_ID,
          objectId: 'deployer',
          clientId: 'deployer',
        };
      case 'gcp:storage/getProjectServiceAccount:getProjectServiceAccount':
        return {
          emailAddress: GCS_SERVICE_AGENT,
          member: `serviceAccount:${GCS_SERVICE_AGENT}`,
          project: args.inputs.project,
        };
      default:
        throw new Error(`test mocks: no answer for the call ${args.token}`);
    }
  }
}

/** The recording monitor: a MockMonitor that also keeps the options of each registration. */
class RecordingMonitor extends MockMonitor {
  readonly registered: Registered[] = [];
  constructor(mocks: pulumi.runtime.Mocks) {
    super(mocks);
  }
  override async registerResource(req: any, callback: (err: any, resp: any) => void): Promise<void> {
    const inputs = pulumi.runtime.deserializeProperties(req.getObject());
    await super.registerResource(req, (err: any, resp: any) => {
      if (err === null || err === undefined) {
        this.registered.push({
          type: req.getType(),
          name: req.getName(),
          inputs,
          state: resp === undefined ? {} : pulumi.runtime.deserializeProperties(resp.getObject()),
          custom: req.getCustom(),
          protect: req.hasProtect() ? req.getProtect() : undefined,
          retainOnDelete: req.getRetainondelete(),
        });
      }
      callback(err, resp);
    });
  }
}

/** The `config:` of a `Pulumi.<stack>.yaml`, as the flat text map Pulumi hands a program. */
export function stackConfigFile(file: string): Record<string, string> {
  const doc = parseYaml(readFileSync(path.join(REPO_ROOT, file), 'utf8')) as {
    config: Record<string, unknown>;
  };
  return flattenConfig(doc.config);
}

/** Config values as Pulumi passes them: strings as they are, everything else as JSON. */
export function flattenConfig(config: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  );
}

/** What one program run registered, and its stack outputs. */
export interface ProgramRun {
  readonly resources: Registered[];
  readonly outputs: Record<string, any>;
  /** Resources of a type (`azure-native:storage:BlobContainer`). */
  ofType(type: string): Registered[];
  /** The one resource of a type with that logical name; throws when missing. */
  named(type: string, name: string): Registered;
}

/**
 * Installs the mocks and `config`, runs `program` as the Pulumi CLI would (inside the root stack
 * resource) and resolves when every registration is done.
 */
export async function runWithMocks(
  config: Record<string, string>,
  program: () => Promise<Record<string, unknown>>,
  stack = 'dev',
): Promise<ProgramRun> {
  const mocks = new Mocks();
  await pulumi.runtime.setMocks(mocks, 'lakehouse', stack, false);
  const monitor = new RecordingMonitor(mocks);
  pulumi.runtime.setMockOptions(monitor, 'lakehouse', stack, false);
  pulumi.runtime.setAllConfig(config);
  const outputs = (await pulumi.runtime.runInPulumiStack(program)) ?? {};
  const resolved = await new Promise<Record<string, any>>((resolve) => pulumi.output(outputs).apply(resolve));
  const resources = monitor.registered;
  return {
    resources,
    outputs: resolved,
    ofType: (type) => resources.filter((r) => r.type === type),
    named: (type, name) => {
      const found = resources.find((r) => r.type === type && r.name === name);
      if (found === undefined) {
        const names = resources.filter((r) => r.type === type).map((r) => r.name);
        throw new Error(`no ${type} named ${name}; registered: ${names.join(', ') || 'none'}`);
      }
      return found;
    },
  };
}
