/**
 * The LakeTable CustomResourceDefinition, generated from the one schema (schema.ts). Written to
 * `operator/deploy/crd.yaml` by `npm run gen:crd`; a test fails when the checked-in file differs
 * from what this module generates.
 *
 * The zod schema becomes an OpenAPI 3.0 schema, then is made structural for Kubernetes: no
 * `additionalProperties: false` beside `properties` (the API server prunes unknown fields
 * instead), no `propertyNames`, `metadata` left to the API server, no `$ref` (the schema has no
 * recursion: nested column types are strings).
 */
import { stringify } from 'yaml';
import { z } from 'zod';
import {
  LAKETABLE_GROUP,
  LAKETABLE_KIND,
  LAKETABLE_PLURAL,
  LAKETABLE_SHORT_NAME,
  LAKETABLE_VERSION,
} from './defaults.js';
import { LakeTableSchema } from './schema.js';

export const CRD_PATH = 'operator/deploy/crd.yaml';

type JsonSchema = { [key: string]: unknown };

/** The openAPIV3Schema of the LakeTable CRD. */
export function lakeTableOpenApiSchema(): JsonSchema {
  const raw = z.toJSONSchema(LakeTableSchema, {
    target: 'openapi-3.0',
    io: 'input',
    unrepresentable: 'throw',
  }) as JsonSchema;
  const schema = structural(raw);
  const props = schema.properties as Record<string, JsonSchema>;
  // The API server owns metadata's schema; name rules are checked by parseLakeTable.
  props.metadata = { type: 'object' };
  schema.required = ['spec'];
  return schema;
}

function structural(node: unknown): JsonSchema {
  if (Array.isArray(node)) return node.map(structural) as unknown as JsonSchema;
  if (node === null || typeof node !== 'object') return node as JsonSchema;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(node as JsonSchema)) {
    if (k === '$schema' || k === 'propertyNames' || k === 'id') continue;
    if (
      k === 'additionalProperties' &&
      (v === false || (typeof v === 'object' && v !== null && Object.keys(v).length === 0))
    )
      continue;
    // zod bounds integers to the safe range; Kubernetes integers are int64 and need no such bound.
    if (
      (k === 'maximum' && v === Number.MAX_SAFE_INTEGER) ||
      (k === 'minimum' && v === Number.MIN_SAFE_INTEGER)
    )
      continue;
    // Validations and list keys are data, not schemas: copy as they are.
    out[k] = k.startsWith('x-kubernetes-')
      ? v
      : k === 'properties'
        ? mapValues(v as JsonSchema)
        : structural(v);
  }
  if (out.type === 'integer' && out.format === undefined) out.format = 'int64';
  return out;
}

function mapValues(props: JsonSchema): JsonSchema {
  return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, structural(v)]));
}

/** The CustomResourceDefinition object (apiextensions.k8s.io/v1). */
export function lakeTableCrd(): JsonSchema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${LAKETABLE_PLURAL}.${LAKETABLE_GROUP}` },
    spec: {
      group: LAKETABLE_GROUP,
      names: {
        kind: LAKETABLE_KIND,
        listKind: `${LAKETABLE_KIND}List`,
        plural: LAKETABLE_PLURAL,
        singular: LAKETABLE_KIND.toLowerCase(),
        shortNames: [LAKETABLE_SHORT_NAME],
        categories: ['lakehouse'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: LAKETABLE_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            {
              name: 'Version',
              type: 'integer',
              jsonPath: '.status.version',
              description: 'Current table version',
            },
            {
              name: 'Files',
              type: 'integer',
              jsonPath: '.status.files',
              description: 'Data files in the current version',
            },
            {
              name: 'Small Files',
              type: 'integer',
              jsonPath: '.status.smallFiles',
              description: 'Files below minFileSize',
            },
            {
              name: 'Score',
              type: 'integer',
              jsonPath: '.status.health.score',
              description: 'Health score, 0-100 (100: no maintenance needed)',
            },
            { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
            { name: 'Zone', type: 'string', jsonPath: '.spec.zone', priority: 1 },
            { name: 'Location', type: 'string', jsonPath: '.status.location', priority: 1 },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: { openAPIV3Schema: lakeTableOpenApiSchema() },
        },
      ],
    },
  };
}

/** The CRD as the YAML checked in at operator/deploy/crd.yaml. */
export function renderCrdYaml(): string {
  return (
    '# Generated from lib/spec/schema.ts by `npm run gen:crd`. Do not edit: change the schema and regenerate.\n' +
    stringify(lakeTableCrd(), { lineWidth: 0, aliasDuplicateObjects: false })
  );
}
