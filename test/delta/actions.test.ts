import {
  canonicalPath,
  dvUniqueId,
  fileKey,
  parseActions,
  removeFor,
  serializeActions,
  type Action,
} from '../../lib/delta/actions.js';

describe('commit JSON', () => {
  test('parses every action and serializes them back line by line', () => {
    const actions: Action[] = [
      { commitInfo: { timestamp: 1, operation: 'WRITE' } },
      { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
      {
        metaData: {
          id: 'x',
          format: { provider: 'parquet', options: {} },
          schemaString: '{"type":"struct","fields":[]}',
          partitionColumns: [],
          configuration: {},
        },
      },
      {
        add: {
          path: 'a b.parquet',
          partitionValues: { p: null },
          size: 3,
          modificationTime: 4,
          dataChange: true,
        },
      },
      { remove: { path: 'c', deletionTimestamp: 5, dataChange: true } },
      { txn: { appId: 'app', version: 7 } },
      { cdc: { path: '_change_data/x', partitionValues: {}, size: 1, dataChange: false } },
      { domainMetadata: { domain: 'd', configuration: '{}', removed: false } },
    ];
    const bytes = serializeActions(actions);
    const text = new TextDecoder().decode(bytes);
    expect(text.split('\n')).toHaveLength(actions.length + 1);
    expect(parseActions(text, 'x.json')).toEqual(actions);
  });

  test('skips unknown actions and blank lines, as the protocol requires of readers', () => {
    const text = '{"futureAction":{"a":1}}\n\n{"txn":{"appId":"a","version":1}}\r\n';
    expect(parseActions(text, '00000000000000000003.json')).toEqual([{ txn: { appId: 'a', version: 1 } }]);
  });

  test('a truncated line names the file and line', () => {
    const text = '{"txn":{"appId":"a","version":1}}\n{"add":{"path":"x","partitionVal';
    expect(() => parseActions(text, '00000000000000000007.json')).toThrow(
      expect.objectContaining({
        code: 'CORRUPT_LOG',
        message: expect.stringMatching(/^delta: 00000000000000000007\.json line 2: not valid JSON/),
      }),
    );
  });

  test('a known action missing a required field names the field', () => {
    expect(() => parseActions('{"add":{"path":"x","size":1,"dataChange":true}}', 'f.json')).toThrow(
      'delta: f.json line 1: add: partitionValues is required (object)',
    );
    expect(() => parseActions('{"add":{"path":"x"},"remove":{"path":"y"}}', 'f.json')).toThrow(/two actions/);
  });

  test('skipCommitInfo does not parse commitInfo lines', () => {
    const text = '{"commitInfo":{broken\n{"txn":{"appId":"a","version":1}}\n';
    expect(parseActions(text, 'f.json', { skipCommitInfo: true })).toHaveLength(1);
  });
});

describe('file keys', () => {
  test('paths are decoded and the file: scheme dropped, as Spark canonicalizes them', () => {
    expect(canonicalPath('/some/unqualified/with%20space/p@%23h')).toBe('/some/unqualified/with space/p@#h');
    expect(canonicalPath('file:/some/unqualified/with%20space/p@%23h')).toBe(
      '/some/unqualified/with space/p@#h',
    );
    expect(canonicalPath('file:///t/a.parquet', 'file:///t')).toBe('a.parquet');
    expect(canonicalPath('bad%zz')).toBe('bad%zz');
  });

  test('the deletion vector is part of the key', () => {
    const dv = {
      storageType: 'u' as const,
      pathOrInlineDv: 'ab^-aqEH.-t@S}K{vb[*k^',
      offset: 4,
      sizeInBytes: 40,
      cardinality: 6,
    };
    expect(dvUniqueId(dv)).toBe('uab^-aqEH.-t@S}K{vb[*k^@4');
    expect(dvUniqueId({ ...dv, storageType: 'i', offset: undefined })).toBe('iab^-aqEH.-t@S}K{vb[*k^');
    expect(fileKey({ path: 'a' })).not.toBe(fileKey({ path: 'a', deletionVector: dv }));
  });

  test('removeFor carries what VACUUM and change data need', () => {
    const r = removeFor(
      { path: 'a', partitionValues: { d: '1' }, size: 9, modificationTime: 1, dataChange: true, stats: '{}' },
      { deletionTimestamp: 42 },
    );
    expect(r).toEqual({
      path: 'a',
      deletionTimestamp: 42,
      dataChange: true,
      extendedFileMetadata: true,
      partitionValues: { d: '1' },
      size: 9,
      stats: '{}',
    });
  });
});
