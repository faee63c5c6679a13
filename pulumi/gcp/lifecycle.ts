import type { LakehouseZone, ResolvedZoneLifecycle } from '../defaults.js';
import { dataFilePrefixes, type CatalogTable } from '../tables.js';

/** One GCS lifecycle rule, as `gcp.storage.Bucket` takes it. */
export interface BucketLifecycleRule {
  readonly action: { readonly type: string; readonly storageClass?: string };
  readonly condition: {
    readonly age?: number;
    readonly sendAgeIfZero?: boolean;
    readonly daysSinceNoncurrentTime?: number;
    readonly sendDaysSinceNoncurrentTimeIfZero?: boolean;
    readonly matchesPrefixes?: string[];
    readonly matchesStorageClasses?: string[];
    readonly withState?: 'LIVE' | 'ARCHIVED' | 'ANY';
  };
}

/**
 * The Delta-safe lifecycle rules of one zone bucket:
 * - storage-class changes (Nearline, Coldline; never Archive: its 365-day minimum and retrieval
 *   fees punish the reads every query makes) match only live objects under the data-file
 *   prefixes of the zone's tables ({@link dataFilePrefixes}): no `_delta_log/` object, no
 *   deletion vector. A zone without tables gets none: GCS conditions cannot exclude a prefix.
 * - noncurrent versions (what VACUUM and log clean-up leave behind under versioning) are deleted
 *   after `noncurrentVersionExpirationDays`; no live table version reads them.
 * - unfinished multipart uploads are aborted.
 * - `expirationDays` (scratch only) deletes live objects.
 * `0` days is sent as 0 (the provider would otherwise drop it).
 */
export function bucketLifecycleRules(
  zone: LakehouseZone,
  l: ResolvedZoneLifecycle,
  tables: readonly CatalogTable[],
): BucketLifecycleRule[] {
  const rules: BucketLifecycleRule[] = [];
  const prefixes = tables.filter((t) => t.zone === zone).flatMap(dataFilePrefixes);
  if (prefixes.length > 0) {
    if (l.coolAfterDays !== false) {
      rules.push({
        action: { type: 'SetStorageClass', storageClass: 'NEARLINE' },
        condition: {
          age: l.coolAfterDays,
          sendAgeIfZero: true,
          matchesPrefixes: prefixes,
          matchesStorageClasses: ['STANDARD'],
          withState: 'LIVE',
        },
      });
    }
    if (l.coldAfterDays !== false) {
      rules.push({
        action: { type: 'SetStorageClass', storageClass: 'COLDLINE' },
        condition: {
          age: l.coldAfterDays,
          sendAgeIfZero: true,
          matchesPrefixes: prefixes,
          matchesStorageClasses: ['STANDARD', 'NEARLINE'],
          withState: 'LIVE',
        },
      });
    }
  }
  if (l.noncurrentVersionExpirationDays !== false) {
    rules.push({
      action: { type: 'Delete' },
      condition: {
        daysSinceNoncurrentTime: l.noncurrentVersionExpirationDays,
        sendDaysSinceNoncurrentTimeIfZero: true,
        withState: 'ARCHIVED',
      },
    });
  }
  if (l.abortIncompleteMultipartUploadDays !== false) {
    rules.push({
      action: { type: 'AbortIncompleteMultipartUpload' },
      condition: { age: l.abortIncompleteMultipartUploadDays, sendAgeIfZero: true },
    });
  }
  if (l.expirationDays !== false) {
    rules.push({
      action: { type: 'Delete' },
      condition: { age: l.expirationDays, sendAgeIfZero: true, withState: 'ANY' },
    });
  }
  return rules;
}
