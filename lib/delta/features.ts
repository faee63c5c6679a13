import { LakehouseError } from '../errors.js';
import type { MetadataAction, ProtocolAction } from './actions.js';
import { parseSchema, isStruct, isArray, isMap, type DeltaType } from './schema.js';

/**
 * Protocol versions and table features ("Table Features", "Reader/Writer Version Requirements" in
 * PROTOCOL.md): which tables this kit can read and write, and the checks that enforce it.
 */

/** Highest protocol versions this kit implements. */
export const MAX_READER_VERSION = 3;
export const MAX_WRITER_VERSION = 7;

/** Reader features this kit reads correctly. */
export const SUPPORTED_READER_FEATURES: ReadonlySet<string> = new Set([
  'columnMapping',
  'deletionVectors',
  'timestampNtz',
  'v2Checkpoint',
  'vacuumProtocolCheck',
  'typeWidening',
  'typeWidening-preview',
]);

/**
 * Writer features this kit honours when it commits. Some are honoured only while inactive (see
 * `assertWritable`): for those the kit would have to do work it does not do (generate identity
 * values, write change data files, assign row ids).
 */
export const SUPPORTED_WRITER_FEATURES: ReadonlySet<string> = new Set([
  'appendOnly',
  'invariants',
  'checkConstraints',
  'changeDataFeed',
  'generatedColumns',
  'columnMapping',
  'identityColumns',
  'deletionVectors',
  'timestampNtz',
  'domainMetadata',
  'v2Checkpoint',
  'inCommitTimestamp',
  'vacuumProtocolCheck',
  'typeWidening',
  'typeWidening-preview',
]);

/** Features each legacy writer version implies ("Writer Version Requirements"). */
const LEGACY_WRITER_FEATURES: readonly (readonly string[])[] = [
  [],
  [],
  ['appendOnly', 'invariants'],
  ['checkConstraints'],
  ['changeDataFeed', 'generatedColumns'],
  ['columnMapping'],
  ['identityColumns'],
];

/** The reader features a protocol requires, legacy versions included (reader 2 = column mapping). */
export function readerFeatures(protocol: ProtocolAction): Set<string> {
  if (protocol.minReaderVersion >= 3) return new Set(protocol.readerFeatures ?? []);
  return new Set(protocol.minReaderVersion === 2 ? ['columnMapping'] : []);
}

/** The writer features a protocol requires, legacy versions expanded to the features they imply. */
export function writerFeatures(protocol: ProtocolAction): Set<string> {
  if (protocol.minWriterVersion >= 7) return new Set(protocol.writerFeatures ?? []);
  const out = new Set<string>();
  for (let v = 0; v <= Math.min(protocol.minWriterVersion, 6); v++)
    for (const f of LEGACY_WRITER_FEATURES[v]) out.add(f);
  return out;
}

/** True when the protocol supports `feature` (listed, or implied by a legacy version). */
export function supportsFeature(protocol: ProtocolAction, feature: string): boolean {
  return readerFeatures(protocol).has(feature) || writerFeatures(protocol).has(feature);
}

/**
 * Rejects with UNSUPPORTED_READER_FEATURE (naming the feature or version) when this kit cannot read
 * a table with `protocol`.
 */
export function assertReadable(protocol: ProtocolAction): void {
  if (protocol.minReaderVersion > MAX_READER_VERSION) {
    throw new LakehouseError(
      'UNSUPPORTED_READER_FEATURE',
      `delta: the table requires reader version ${protocol.minReaderVersion}; this kit reads up to version ${MAX_READER_VERSION}`,
    );
  }
  if (protocol.minReaderVersion < 1 || protocol.minWriterVersion < 1) {
    throw new LakehouseError(
      'INVALID_PROTOCOL',
      `delta: invalid protocol (minReaderVersion ${protocol.minReaderVersion}, minWriterVersion ${protocol.minWriterVersion})`,
    );
  }
  const unsupported = [...readerFeatures(protocol)].filter((f) => !SUPPORTED_READER_FEATURES.has(f));
  if (unsupported.length > 0) {
    throw new LakehouseError(
      'UNSUPPORTED_READER_FEATURE',
      `delta: the table uses reader feature${unsupported.length > 1 ? 's' : ''} ${unsupported.map((f) => `"${f}"`).join(', ')}, which this kit does not support`,
    );
  }
}

export interface WriteIntent {
  /** The commit only adds files (no removes, no metadata change): allowed on append-only and CDF tables. */
  blindAppend?: boolean;
  /** The commit removes data (dataChange remove): refused on an append-only table. */
  removesData?: boolean;
  /**
   * The commit updates rows in place (a DELETE, UPDATE or MERGE that rewrites files or adds
   * deletion vectors) without `cdc` actions: refused while Change Data Feed is enabled, which
   * needs change data files for such commits. Appends, overwrites and removal of whole files are
   * fine without them.
   */
  rewritesRows?: boolean;
}

/**
 * Rejects unless this kit can write the table: UNSUPPORTED_WRITER_FEATURE naming each writer
 * feature (or version) it cannot honour, INVALID_ARGUMENT when the commit would break an active
 * feature (removing data from an append-only table). Readability is checked too, since a writer
 * must read the table first.
 */
export function assertWritable(
  protocol: ProtocolAction,
  metadata: MetadataAction,
  intent: WriteIntent = {},
): void {
  assertReadable(protocol);
  if (protocol.minWriterVersion > MAX_WRITER_VERSION) {
    throw new LakehouseError(
      'UNSUPPORTED_WRITER_FEATURE',
      `delta: the table requires writer version ${protocol.minWriterVersion}; this kit writes up to version ${MAX_WRITER_VERSION}`,
    );
  }
  const features = writerFeatures(protocol);
  const unsupported = [...features].filter((f) => !SUPPORTED_WRITER_FEATURES.has(f));
  const config = metadata.configuration ?? {};
  const inactiveOnly: string[] = [];
  if (
    features.has('changeDataFeed') &&
    config['delta.enableChangeDataFeed'] === 'true' &&
    intent.rewritesRows
  ) {
    inactiveOnly.push(
      'changeDataFeed (delta.enableChangeDataFeed=true: rewriting rows needs change data files)',
    );
  }
  if (features.has('generatedColumns') && schemaHasMetadata(metadata, 'delta.generationExpression')) {
    inactiveOnly.push('generatedColumns (the schema has generated columns)');
  }
  if (features.has('identityColumns') && schemaHasMetadata(metadata, 'delta.identity.start')) {
    inactiveOnly.push('identityColumns (the schema has identity columns)');
  }
  const all = [...unsupported.map((f) => `"${f}"`), ...inactiveOnly];
  if (all.length > 0) {
    throw new LakehouseError(
      'UNSUPPORTED_WRITER_FEATURE',
      `delta: this kit cannot write the table: it uses writer feature${all.length > 1 ? 's' : ''} ${all.join(', ')}`,
    );
  }
  if (intent.removesData && features.has('appendOnly') && config['delta.appendOnly'] === 'true') {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      'delta: the table is append-only (delta.appendOnly=true): this operation would remove data; ' +
        'set delta.appendOnly to false first if that is intended',
    );
  }
}

function schemaHasMetadata(metadata: MetadataAction, key: string): boolean {
  const visit = (t: DeltaType): boolean => {
    if (isStruct(t)) return t.fields.some((f) => (f.metadata && key in f.metadata) || visit(f.type));
    if (isArray(t)) return visit(t.elementType);
    if (isMap(t)) return visit(t.keyType) || visit(t.valueType);
    return false;
  };
  return visit(parseSchema(metadata.schemaString));
}

/** A constraint a writer must check on every row it adds: a name and a SQL boolean expression. */
export interface RowConstraint {
  name: string;
  expression: string;
  /** `invariant` (column metadata `delta.invariants`) or `check` (`delta.constraints.<name>`). */
  kind: 'invariant' | 'check';
}

/**
 * The active CHECK constraints and column invariants of a table. Writers must reject rows for
 * which one evaluates to false or null (PROTOCOL.md "Column Invariants", "CHECK Constraints").
 */
export function rowConstraints(protocol: ProtocolAction, metadata: MetadataAction): RowConstraint[] {
  const features = writerFeatures(protocol);
  const out: RowConstraint[] = [];
  if (features.has('checkConstraints')) {
    for (const [k, v] of Object.entries(metadata.configuration ?? {})) {
      if (k.startsWith('delta.constraints.'))
        out.push({ name: k.slice('delta.constraints.'.length), expression: v, kind: 'check' });
    }
  }
  if (features.has('invariants')) {
    const visit = (t: DeltaType, prefix: string) => {
      if (!isStruct(t)) return;
      for (const f of t.fields) {
        const inv = f.metadata?.['delta.invariants'];
        if (typeof inv === 'string') {
          try {
            const parsed = JSON.parse(inv) as { expression?: { expression?: string } };
            const expr = parsed.expression?.expression;
            if (expr) out.push({ name: `${prefix}${f.name}`, expression: expr, kind: 'invariant' });
          } catch {
            throw new LakehouseError(
              'CORRUPT_LOG',
              `delta: column ${prefix}${f.name} has an invalid delta.invariants value`,
            );
          }
        }
        visit(f.type, `${prefix}${f.name}.`);
      }
    };
    visit(parseSchema(metadata.schemaString), '');
  }
  return out;
}

/** Whether in-commit timestamps are enabled (feature supported and property true). */
export function inCommitTimestampsEnabled(protocol: ProtocolAction, metadata: MetadataAction): boolean {
  return (
    writerFeatures(protocol).has('inCommitTimestamp') &&
    metadata.configuration?.['delta.enableInCommitTimestamps'] === 'true'
  );
}

/** The protocol a new table gets: the lowest versions that carry the features it needs. */
export function protocolFor(features: Iterable<string>): ProtocolAction {
  const list = [...new Set(features)];
  if (list.length === 0) return { minReaderVersion: 1, minWriterVersion: 2 };
  const readerSide = list.filter((f) => SUPPORTED_READER_FEATURES.has(f));
  if (readerSide.length > 0) {
    return {
      minReaderVersion: 3,
      minWriterVersion: 7,
      readerFeatures: readerSide.sort(),
      writerFeatures: list.sort(),
    };
  }
  return { minReaderVersion: 1, minWriterVersion: 7, writerFeatures: list.sort() };
}

/**
 * The table features a table's metadata needs from its protocol: `timestampNtz` for
 * timestamp_ntz columns, `columnMapping` for mode name/id, `deletionVectors`,
 * `inCommitTimestamp`, `changeDataFeed`, `appendOnly`, `checkConstraints`, `invariants` when the
 * matching property, constraint or column metadata is present.
 */
export function requiredFeatures(metadata: MetadataAction): Set<string> {
  const config = metadata.configuration ?? {};
  const out = new Set<string>();
  const schema = parseSchema(metadata.schemaString);
  if (typeNamesIn(schema).has('timestamp_ntz')) out.add('timestampNtz');
  const mode = config['delta.columnMapping.mode'];
  if (mode === 'name' || mode === 'id') out.add('columnMapping');
  if (config['delta.enableDeletionVectors'] === 'true') out.add('deletionVectors');
  if (config['delta.enableInCommitTimestamps'] === 'true') out.add('inCommitTimestamp');
  if (config['delta.enableChangeDataFeed'] === 'true') out.add('changeDataFeed');
  if (config['delta.appendOnly'] === 'true') out.add('appendOnly');
  if (Object.keys(config).some((k) => k.startsWith('delta.constraints.'))) out.add('checkConstraints');
  if (schemaHasMetadata(metadata, 'delta.invariants')) out.add('invariants');
  return out;
}

function typeNamesIn(t: DeltaType, out = new Set<string>()): Set<string> {
  if (typeof t === 'string') out.add(t);
  else if (isStruct(t)) for (const f of t.fields) typeNamesIn(f.type, out);
  else if (isArray(t)) typeNamesIn(t.elementType, out);
  else if (isMap(t)) {
    typeNamesIn(t.keyType, out);
    typeNamesIn(t.valueType, out);
  }
  return out;
}

/**
 * Rejects with INVALID_PROTOCOL naming each feature the metadata uses but the protocol does not
 * support (a writer MUST NOT commit such a pair: older readers would misread the table).
 */
export function assertProtocolSupportsMetadata(protocol: ProtocolAction, metadata: MetadataAction): void {
  const missing = [...requiredFeatures(metadata)].filter((f) => !supportsFeature(protocol, f));
  if (missing.length > 0) {
    throw new LakehouseError(
      'INVALID_PROTOCOL',
      `delta: the table's metadata needs feature${missing.length > 1 ? 's' : ''} ${missing.map((f) => `"${f}"`).join(', ')} ` +
        `that its protocol (reader ${protocol.minReaderVersion}, writer ${protocol.minWriterVersion}) does not support; ` +
        'commit a protocol that lists them',
    );
  }
}

/**
 * The protocol for a new table with `metadata`: (1, 2) when it needs no table feature, else the
 * table-features protocol listing what it needs (plus appendOnly and invariants, which (1, 2) implies).
 */
export function protocolForMetadata(metadata: MetadataAction): ProtocolAction {
  const needed = requiredFeatures(metadata);
  const beyondLegacy = [...needed].filter((f) => f !== 'appendOnly' && f !== 'invariants');
  if (beyondLegacy.length === 0) return { minReaderVersion: 1, minWriterVersion: 2 };
  return protocolFor([...needed, 'appendOnly', 'invariants']);
}
