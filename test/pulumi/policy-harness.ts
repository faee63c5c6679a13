import type { ResourceValidationArgs, ResourceValidationPolicy } from '@pulumi/policy';
import { LAKEHOUSE_POLICIES } from '../../pulumi/policy/rules.js';
import type { Registered } from './harness.js';

/** One violation a policy reported. */
export interface Violation {
  readonly policy: string;
  readonly resource: string;
  readonly message: string;
}

/** The arguments the policy engine would pass for a resource with these props. */
export function validationArgs(
  type: string,
  name: string,
  props: Record<string, any>,
  protect = false,
): ResourceValidationArgs {
  return {
    type,
    name,
    props,
    urn: `urn:pulumi:dev::lakehouse::${type}::${name}`,
    opts: {
      protect,
      ignoreChanges: [],
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: [],
    },
    stackTags: new Map(),
    isType: (cls: any) => cls?.__pulumiType === type,
    asType: (cls: any) => (cls?.__pulumiType === type ? (props as any) : undefined),
    getConfig: <T extends object>() => ({}) as T,
    notApplicable: (reason?: string): never => {
      throw new Error(`not applicable: ${reason ?? ''}`);
    },
  };
}

/** Runs the policies on one resource's props; returns what they reported. */
export async function violationsOf(
  type: string,
  props: Record<string, any>,
  policies: readonly ResourceValidationPolicy[] = LAKEHOUSE_POLICIES,
  name = 'subject',
): Promise<Violation[]> {
  const found: Violation[] = [];
  for (const p of policies) {
    const v = p.validateResource;
    const validations = v === undefined ? [] : Array.isArray(v) ? v : [v];
    for (const validate of validations) {
      await validate(validationArgs(type, name, props), (message: string) =>
        found.push({ policy: p.name, resource: `${type} ${name}`, message }),
      );
    }
  }
  return found;
}

/** Runs every policy on every registered resource, with the inputs the program gave it. */
export async function violationsOfRun(resources: readonly Registered[]): Promise<Violation[]> {
  const all: Violation[] = [];
  for (const r of resources) all.push(...(await violationsOf(r.type, r.inputs, LAKEHOUSE_POLICIES, r.name)));
  return all;
}
