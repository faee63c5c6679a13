import type { LakehouseZone, ResolvedZoneLifecycle } from '../defaults.js';
import { dataFilePrefixes, type CatalogTable } from '../tables.js';

/** Azure accepts at most 10 prefixes in one rule's filter. */
const MAX_PREFIXES_PER_RULE = 10;

/** One rule of a storage account's lifecycle management policy, as ARM takes it. */
export interface ManagementPolicyRule {
  readonly name: string;
  readonly enabled: true;
  readonly type: 'Lifecycle';
  readonly definition: {
    readonly filters: { readonly blobTypes: ['blockBlob']; readonly prefixMatch: string[] };
    readonly actions: {
      readonly baseBlob: {
        readonly tierToCool?: { daysAfterModificationGreaterThan: number };
        readonly tierToCold?: { daysAfterModificationGreaterThan: number };
        readonly delete?: { daysAfterModificationGreaterThan: number };
      };
    };
  };
}

/**
 * The Delta-safe lifecycle rules of the zone filesystems:
 * - tiering (Cool, Cold; never Archive, which cannot be read without rehydration) matches only
 *   the data-file prefixes of the zone's registered tables ({@link dataFilePrefixes}), so no
 *   `_delta_log/` file and no deletion vector is ever moved. A zone without tables gets no
 *   tiering rule: ARM filters only include prefixes, they cannot exclude `_delta_log/`.
 * - expiry deletes everything in the zone after `expirationDays`; {@link resolveLifecycle}
 *   allows it only in `scratch`.
 * Azure prefixes start with the filesystem name (`curated/orders/day=`).
 */
export function managementPolicyRules(
  lifecycles: ReadonlyMap<LakehouseZone, ResolvedZoneLifecycle>,
  tables: readonly CatalogTable[],
): ManagementPolicyRule[] {
  const rules: ManagementPolicyRule[] = [];
  for (const [zone, l] of lifecycles) {
    const prefixes = tables
      .filter((t) => t.zone === zone)
      .flatMap(dataFilePrefixes)
      .map((p) => `${zone}/${p}`);
    if ((l.coolAfterDays !== false || l.coldAfterDays !== false) && prefixes.length > 0) {
      for (let i = 0; i < prefixes.length; i += MAX_PREFIXES_PER_RULE) {
        rules.push({
          name: `${zone}TierDataFiles${i / MAX_PREFIXES_PER_RULE + 1}`,
          enabled: true,
          type: 'Lifecycle',
          definition: {
            filters: { blobTypes: ['blockBlob'], prefixMatch: prefixes.slice(i, i + MAX_PREFIXES_PER_RULE) },
            actions: {
              baseBlob: {
                ...(l.coolAfterDays !== false && {
                  tierToCool: { daysAfterModificationGreaterThan: l.coolAfterDays },
                }),
                ...(l.coldAfterDays !== false && {
                  tierToCold: { daysAfterModificationGreaterThan: l.coldAfterDays },
                }),
              },
            },
          },
        });
      }
    }
    if (l.expirationDays !== false) {
      rules.push({
        name: `${zone}Expire`,
        enabled: true,
        type: 'Lifecycle',
        definition: {
          filters: { blobTypes: ['blockBlob'], prefixMatch: [`${zone}/`] },
          actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: l.expirationDays } } },
        },
      });
    }
  }
  return rules;
}
