/** Documents shared by the spec tests: a minimal valid LakeTable and a helper to vary it. */
import type { LakeTable } from '../../lib/spec/index.js';

/** A fresh, valid, minimal LakeTable document (plain data, as YAML would give it). */
export function baseDoc(): Record<string, any> {
  return {
    apiVersion: 'lakehouse.dev/v1alpha1',
    kind: 'LakeTable',
    metadata: { name: 'orders' },
    spec: {
      zone: 'curated',
      path: 'sales/orders',
      schema: {
        columns: [
          { name: 'order_id', type: 'string', nullable: false },
          { name: 'amount', type: 'decimal(12,2)' },
          { name: 'day', type: 'date' },
          { name: 'tags', type: 'array<string>' },
        ],
      },
    },
  };
}

/** baseDoc with `change` applied to a deep copy. */
export function docWith(change: (doc: Record<string, any>) => void): Record<string, any> {
  const d = baseDoc();
  change(d);
  return d;
}

export type Doc = Record<string, any> | LakeTable;
