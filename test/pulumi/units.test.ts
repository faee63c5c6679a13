/** The pure parts of the Pulumi program: names, lifecycle defaults, stack config, README. */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseStackConfig } from '../../pulumi/config.js';
import { defaultsMarkdownTable, PULUMI_LAKEHOUSE_DEFAULTS, resolveLifecycle } from '../../pulumi/defaults.js';
import {
  bucketName,
  catalogDatabaseName,
  deterministicGuid,
  serviceAccountId,
  storageAccountName,
} from '../../pulumi/naming.js';
import { roleZones } from '../../pulumi/access-defaults.js';
import { dataFilePrefixes, type CatalogTable } from '../../pulumi/tables.js';
import { ZONES } from '../../lib/spec/index.js';
import { REPO_ROOT, stackConfigFile } from './harness.js';

describe('names', () => {
  test('storage account names are deterministic, per stack, and at most 24 characters', () => {
    const a = storageAccountName('lakehouse-dev', 'dev-azure');
    expect(a).toMatch(/^lakehousedev[0-9a-f]{6}$/);
    expect(storageAccountName('lakehouse-dev', 'dev-azure')).toBe(a);
    expect(storageAccountName('lakehouse-dev', 'prod-azure')).not.toBe(a);
    expect(() => storageAccountName('lakehouse-production-eu', 's')).toThrow(
      /storage account name "lakehouseproductioneu[0-9a-f]{6}" has 27 characters, more than the 24 allowed: shorten the name prefix "lakehouse-production-eu" by 3 characters or set lakehouse:azure.storageAccountName/,
    );
  });

  test('bucket names and service account ids are length-checked', () => {
    expect(bucketName('lakehouse-dev', 'curated', 'acme')).toBe('lakehouse-dev-curated-acme');
    expect(() =>
      bucketName('lakehouse-production-europe', 'curated', 'acme-data-platform-prod-123456'),
    ).toThrow(
      'bucket name "lakehouse-production-europe-curated-acme-data-platform-prod-123456" has 66 characters, ' +
        'more than the 63 allowed: shorten the name prefix "lakehouse-production-europe" by 3 characters',
    );
    expect(serviceAccountId('lakehouse-dev', 'operator')).toBe('lakehouse-dev-operator');
    expect(() => serviceAccountId('lakehouse-production-eu', 'operator')).toThrow(
      'service account id "lakehouse-production-eu-operator" has 32 characters, more than the 30 allowed: ' +
        'shorten the name prefix "lakehouse-production-eu" by 2 characters',
    );
    expect(catalogDatabaseName('lakehouse-dev', 'raw')).toBe('lakehouse_dev_raw');
    expect(() => bucketName('Lakehouse', 'raw', 'p')).toThrow(/name prefix "Lakehouse" is not valid/);
  });

  test('role assignment names are version-5 GUIDs of their parts', () => {
    const g = deterministicGuid('scope', 'principal', 'role');
    expect(g).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(deterministicGuid('scope', 'principal', 'role')).toBe(g);
    expect(deterministicGuid('scope', 'principal2', 'role')).not.toBe(g);
  });
});

describe('lifecycle', () => {
  test('overrides merge field by field; 0 stays 0 and false turns a rule off', () => {
    expect(resolveLifecycle('raw', { coolAfterDays: 0, noncurrentVersionExpirationDays: false })).toEqual({
      ...PULUMI_LAKEHOUSE_DEFAULTS.lifecycle.raw,
      coolAfterDays: 0,
      noncurrentVersionExpirationDays: false,
    });
    expect(resolveLifecycle('scratch', { expirationDays: 0 }).expirationDays).toBe(0);
  });

  test('only scratch may expire, days are whole and not negative, cold comes after cool', () => {
    expect(() => resolveLifecycle('curated', { expirationDays: 30 })).toThrow(
      'lifecycle.curated.expirationDays is 30: only the scratch zone may expire objects (elsewhere it would delete files and _delta_log/ entries of live tables); set it to false',
    );
    expect(() => resolveLifecycle('raw', { coolAfterDays: -1 })).toThrow(
      /lifecycle.raw.coolAfterDays is -1: use a whole number/,
    );
    expect(() => resolveLifecycle('raw', { coolAfterDays: 1.5 })).toThrow(/is 1.5/);
    expect(() => resolveLifecycle('models', { coolAfterDays: 90, coldAfterDays: 30 })).toThrow(
      'lifecycle.models: coldAfterDays (30) must be more than coolAfterDays (90)',
    );
  });

  test('data-file prefixes never reach _delta_log/', () => {
    const table = (partitionBy: string[]): CatalogTable => ({
      name: 't',
      zone: 'curated',
      path: 'orders/items/',
      database: 'curated',
      table: 't',
      columns: [],
      partitionBy,
      persistence: 'durable',
      register: true,
    });
    expect(dataFilePrefixes(table(['day', 'region']))).toEqual(['orders/items/day=']);
    expect(dataFilePrefixes(table([]))).toEqual(['orders/items/part-']);
    expect(
      dataFilePrefixes({ ...table([]), zone: undefined, path: undefined, location: 'gs://x/y' }),
    ).toEqual([]);
  });
});

describe('role zones', () => {
  const storage = ['raw', 'curated', 'models'] as const;
  test('defaults are limited to the zones the storage creates; the operator gets them all', () => {
    expect(roleZones('reader', undefined, storage)).toEqual(['curated', 'models']);
    expect(roleZones('writer', undefined, ['raw'])).toEqual(['raw']);
    expect(roleZones('operator', undefined, storage)).toEqual(['raw', 'curated', 'models']);
    expect(roleZones('reader', ['raw'], storage)).toEqual(['raw']);
  });
  test('a zone the storage does not create is refused', () => {
    expect(() => roleZones('writer', ['raw', 'scratch'], storage)).toThrow(
      'writer.zones lists scratch, which the storage does not create (zones: raw, curated, models); ' +
        'add the zone to the storage or remove it from the writer',
    );
  });
});

describe('stack config', () => {
  test('the example stacks are valid', () => {
    for (const file of ['Pulumi.dev-azure.yaml', 'Pulumi.dev-gcp.yaml']) {
      const raw = Object.fromEntries(
        Object.entries(stackConfigFile(file))
          .filter(([k]) => k.startsWith('lakehouse:'))
          .map(([k, v]) => [k.slice('lakehouse:'.length), v]),
      );
      expect(parseStackConfig(raw).cloud).toBe(file.includes('azure') ? 'azure' : 'gcp');
    }
  });

  test('values arrive as JSON text, as Pulumi keeps them', () => {
    expect(
      parseStackConfig({
        cloud: 'gcp',
        zones: '["raw","curated"]',
        lifecycle: '{"raw":{"coolAfterDays":0}}',
        removeDataOnDestroy: 'true',
      }),
    ).toEqual({
      cloud: 'gcp',
      zones: ['raw', 'curated'],
      lifecycle: { raw: { coolAfterDays: 0 } },
      removeDataOnDestroy: true,
    });
  });

  test('a bad config names every wrong key and how to fix it', () => {
    let message = '';
    try {
      parseStackConfig({
        cloud: 'aws',
        zones: '["raw","gold"]',
        azure: '{"network":{"defaultAction":"Open"},"storageAccountName":"Bad-Name"}',
        lifecycle: '{"raw":{"coolAfterDays":-3}}',
        gcp: '{"softDeleteRetentionDays":3}',
        typo: 'x',
      });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^stack config is not valid:\n/);
    for (const key of [
      'lakehouse:cloud:',
      'lakehouse:zones.1:',
      'lakehouse:azure.network.defaultAction:',
      'lakehouse:azure.storageAccountName: 3 to 24 lowercase letters and digits',
      'lakehouse:lifecycle.raw.coolAfterDays:',
      'lakehouse:gcp.softDeleteRetentionDays: GCS soft delete is 0 (off) or 7 to 90 days',
      'lakehouse:',
    ]) {
      expect(message).toContain(key);
    }
    expect(message).toContain("pulumi config set --path 'lakehouse:<key>' <value>");
  });
});

test('the zones are the LakeTable spec zones', () => {
  expect(PULUMI_LAKEHOUSE_DEFAULTS.zones).toEqual(ZONES);
});

test('the README shows the defaults the code uses', () => {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const m = /<!-- pulumi-defaults:start -->\n([\s\S]*?)\n<!-- pulumi-defaults:end -->/.exec(readme);
  expect(m?.[1]).toBe(defaultsMarkdownTable());
});
