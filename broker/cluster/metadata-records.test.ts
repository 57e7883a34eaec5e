// Method: fast-check round trips of arbitrary well-formed record lists through one batch (decode of
// encode is the identity, at any stamped base offset), arbitrary JSON under every record type (the
// decoder either returns well-formed records or throws MetadataRecordError, nothing else), a table
// of hand-made malformed records each refused naming its field, and a control batch read as none.
import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asEpoch, asOffset, BatchField, CONTROL_FLAG, encodeBatch, stampBatch, type RecordInput } from '../../log/index.js';
import { metadataRecordArb } from '../../test/fixtures/metadata-arbitraries.js';
import { MAX_PARTITIONS_PER_TOPIC } from '../limits.js';
import { decodeMetadataBatch, encodeMetadataBatch, METADATA_RECORD_TYPES, MetadataRecordError, type MetadataRecord } from './metadata-records.js';

const NOW = 1_764_000_000_000;

function batchOf(...records: RecordInput[]): Buffer {
  return encodeBatch(records.map((r) => ({ timestamp: NOW, ...r })));
}

function value(fields: Record<string, unknown>): string {
  return JSON.stringify({ version: 1, ...fields });
}

function expectRefused(bytes: Buffer, ...fragments: string[]): void {
  let error: unknown;
  try {
    decodeMetadataBatch(bytes);
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(MetadataRecordError);
  for (const fragment of fragments) expect((error as Error).message).toContain(fragment);
}

const BROKER = { nodeId: 1, host: '10.0.0.1', port: 7401, httpHost: '10.0.0.1', httpPort: 7481 };
const TOPIC = { name: 'orders', topicId: '5b3c1d0e-8f4a-4c55-9d2e-0a1b2c3d4e5f', partitions: [{ replicas: [1, 2, 3] }], configs: { 'retention.ms': '60000' } };

describe('metadata record batches', () => {
  it('decodes what it encodes, whatever the records', () => {
    fc.assert(
      fc.property(fc.array(metadataRecordArb, { minLength: 1, maxLength: 10 }), (records) => {
        expect(decodeMetadataBatch(encodeMetadataBatch(records, NOW))).toEqual(records);
      }),
      { numRuns: 300 },
    );
  });

  it('reads records at the base offset the leader stamped', () => {
    fc.assert(
      fc.property(fc.array(metadataRecordArb, { minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 2 ** 40 }), (records, baseOffset) => {
        const bytes = encodeMetadataBatch(records, NOW);
        stampBatch(bytes, 0, asOffset(baseOffset), asEpoch(7));
        expect(decodeMetadataBatch(bytes)).toEqual(records);
      }),
      { numRuns: 50 },
    );
  });

  it('writes the type as the key and a versioned JSON document as the value', () => {
    const record: MetadataRecord = { type: 'register-broker', ...BROKER };
    const bytes = encodeMetadataBatch([record], NOW);
    expect(bytes.includes(Buffer.from('register-broker'))).toBe(true);
    expect(bytes.includes(Buffer.from(value(BROKER)))).toBe(true);
  });

  it('refuses to encode nothing or a malformed record', () => {
    expect(() => encodeMetadataBatch([], NOW)).toThrow(MetadataRecordError);
    expect(() => encodeMetadataBatch([{ type: 'register-broker', ...BROKER, port: 0 }], NOW)).toThrow(/record 0 to encode: register-broker field 'port'/);
  });

  it('returns no records for a control batch (a leader-change entry)', () => {
    // Kafka's LeaderChangeMessage control record: key = version 0, type 2; the value is opaque here.
    const key = Buffer.from([0, 0, 0, 2]);
    const bytes = encodeBatch([{ key, value: Buffer.from([0, 0, 0, 0, 0, 1]), timestamp: NOW }]);
    bytes.writeInt16BE(bytes.readInt16BE(BatchField.attributes) | CONTROL_FLAG, BatchField.attributes);
    bytes.writeUInt32BE(crc32c(bytes.subarray(BatchField.attributes)), BatchField.crc);
    expect(decodeMetadataBatch(bytes)).toEqual([]);
  });

  it('either decodes arbitrary JSON into well-formed records or refuses it with MetadataRecordError', () => {
    fc.assert(
      fc.property(fc.constantFrom(...METADATA_RECORD_TYPES, 'other'), fc.jsonValue(), (type, json) => {
        const bytes = batchOf({ key: type, value: JSON.stringify(json) });
        let records: MetadataRecord[];
        try {
          records = decodeMetadataBatch(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(MetadataRecordError);
          return;
        }
        expect(decodeMetadataBatch(encodeMetadataBatch(records, NOW))).toEqual(records);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a damaged batch, trailing bytes and records that are not metadata', () => {
    const good = encodeMetadataBatch([{ type: 'register-broker', ...BROKER }], NOW);
    const damaged = Buffer.from(good);
    damaged.writeUInt8(damaged.readUInt8(damaged.length - 3) ^ 0xff, damaged.length - 3);
    expectRefused(damaged, 'unreadable');
    expectRefused(Buffer.concat([good, Buffer.alloc(4)]), 'but the entry holds');
    expectRefused(batchOf({ key: null, value: value(BROKER) }), 'offset 0', 'no key');
    expectRefused(batchOf({ key: 'register-broker', value: null }), 'no value');
    expectRefused(batchOf({ key: 'register-broker', value: value(BROKER), headers: { h: 'x' } }), '1 headers');
    expectRefused(batchOf({ key: 'register-broker', value: '{"version":1,' }), 'not UTF-8 JSON');
    expectRefused(batchOf({ key: 'register-broker', value: Buffer.from([0x7b, 0xff, 0x7d]) }), 'not UTF-8 JSON');
    expectRefused(batchOf({ key: 'register-broker', value: '[1]' }), 'not a JSON object');
    expectRefused(batchOf({ key: 'register-broker', value: JSON.stringify({ version: 2, ...BROKER }) }), 'unsupported version 2');
    expectRefused(batchOf({ key: 'register-broker', value: JSON.stringify(BROKER) }), 'unsupported version undefined');
    expectRefused(batchOf({ key: 'unregister-broker', value: value(BROKER) }), 'unknown record type "unregister-broker"');
    expectRefused(batchOf({ key: 'register-broker', value: value({ ...BROKER, type: 'create-topic' }) }), "field 'type'");
  });

  it('names the offset of the bad record in a batch', () => {
    const bytes = batchOf({ key: 'register-broker', value: value(BROKER) }, { key: 'register-broker', value: value({ ...BROKER, port: -1 }) });
    stampBatch(bytes, 0, asOffset(40), asEpoch(1));
    expectRefused(bytes, 'metadata record at offset 41', "field 'port'");
  });

  const malformed: [string, string, Record<string, unknown>, string][] = [
    ['an unknown field', 'register-broker', { ...BROKER, rack: 'a' }, "unknown field 'rack'"],
    ['a missing field', 'register-broker', { nodeId: 1, host: 'h', port: 1, httpHost: null }, "lacks the field 'httpPort'"],
    ['a negative node id', 'register-broker', { ...BROKER, nodeId: -1 }, "field 'nodeId'"],
    ['a node id above int32', 'register-broker', { ...BROKER, nodeId: 2 ** 31 }, "field 'nodeId'"],
    ['a fractional node id', 'register-broker', { ...BROKER, nodeId: 1.5 }, "field 'nodeId'"],
    ['a node id as a string', 'register-broker', { ...BROKER, nodeId: '1' }, "field 'nodeId'"],
    ['port 0', 'register-broker', { ...BROKER, port: 0 }, "field 'port'"],
    ['port 65536', 'register-broker', { ...BROKER, port: 65536 }, "field 'port'"],
    ['an empty host', 'register-broker', { ...BROKER, host: '' }, "field 'host'"],
    ['a host with a space', 'register-broker', { ...BROKER, host: 'a b' }, "field 'host'"],
    ['a host of 254 characters', 'register-broker', { ...BROKER, host: 'a'.repeat(254) }, "field 'host'"],
    ['an HTTP host without a port', 'register-broker', { ...BROKER, httpPort: null }, 'HTTP host without a port'],
    ['a topic name ".."', 'create-topic', { ...TOPIC, name: '..' }, "field 'name'"],
    ['a topic name with a slash', 'delete-topic', { name: 'a/b', topicId: 'x' }, "field 'name'"],
    ['an empty topic id', 'delete-topic', { name: 'a', topicId: '' }, "field 'topicId'"],
    ['a topic id with a slash', 'set-topic-configs', { name: 'a', topicId: '../x', configs: {} }, "field 'topicId'"],
    ['no partitions', 'create-topic', { ...TOPIC, partitions: [] }, "field 'partitions'"],
    ['too many partitions', 'create-topic', { ...TOPIC, partitions: Array.from({ length: MAX_PARTITIONS_PER_TOPIC + 1 }, () => ({ replicas: [1] })) }, "field 'partitions'"],
    ['partitions as a number', 'create-topic', { ...TOPIC, partitions: 3 }, "field 'partitions'"],
    ['a partition without replicas', 'create-topic', { ...TOPIC, partitions: [{ replicas: [] }] }, 'partition 0 must have 1 to'],
    ['a partition naming a broker twice', 'create-topic', { ...TOPIC, partitions: [{ replicas: [1] }, { replicas: [2, 2] }] }, 'partition 1 names a broker twice'],
    ['a partition with another field', 'create-topic', { ...TOPIC, partitions: [{ replicas: [1], leader: 1 }] }, 'exactly the field "replicas"'],
    ['a bad replica id', 'create-topic', { ...TOPIC, partitions: [{ replicas: [1, -2] }] }, 'partition 0 replica 1'],
    ['configs as an array', 'create-topic', { ...TOPIC, configs: [] }, "field 'configs' must be an object"],
    ['an unknown config', 'set-topic-configs', { name: 'a', topicId: 'x', configs: { 'retention.days': '1' } }, "unknown topic config 'retention.days'"],
    ['a config that is not a string', 'create-topic', { ...TOPIC, configs: { 'retention.ms': 5 } }, "'retention.ms' must be a string"],
    ['a config value out of range', 'create-topic', { ...TOPIC, configs: { 'flush.policy': 'sometimes' } }, 'flush.policy'],
  ];

  it.each(malformed)('refuses %s', (_what, type, fields, fragment) => {
    expectRefused(batchOf({ key: type, value: value(fields) }), 'metadata record at offset 0', fragment);
  });
});
