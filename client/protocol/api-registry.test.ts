// Method: checks the registry against API_KEYS and the type map by example — every key registered
// with a name and a sane version range, lookups agree — and a multi-MiB fetch body through the body
// codecs stays a view.
import { describe, expect, it } from 'vitest';
import {
  API_KEY_LIST,
  API_KEYS,
  API_REGISTRY,
  apiVersionsOfRegistry,
  decodeResponseBody,
  decodeResponseFrame,
  encodeResponseBody,
  encodeResponseFrame,
  isApiKey,
  isSupportedVersion,
} from './index.js';

describe('API_REGISTRY', () => {
  it('registers every API key under its own key, with versions', () => {
    expect(API_KEY_LIST).toEqual([0, 1, 2, 3, 8, 9, 10, 16, 18, 19, 20, 22, 24, 25, 26, 27, 28, 32, 42, 56, 65, 66, 68, 69, 1000, 1001]);
    for (const key of Object.values(API_KEYS)) {
      const api = API_REGISTRY[key];
      expect(api.key).toBe(key);
      expect(api.name.length).toBeGreaterThan(0);
      expect(api.minVersion).toBeLessThanOrEqual(api.maxVersion);
      expect(api.schema).toContain(`message ${api.name}Request`);
      expect(api.schema).toContain(`message ${api.name}Response`);
    }
    expect(new Set(API_KEY_LIST.map((k) => API_REGISTRY[k].name)).size).toBe(API_KEY_LIST.length);
  });

  it('answers which keys and versions it serves', () => {
    expect(isApiKey(3)).toBe(true);
    expect(isApiKey(4)).toBe(false);
    expect(isSupportedVersion(0, 0)).toBe(true);
    expect(isSupportedVersion(0, 1)).toBe(false);
    expect(isSupportedVersion(99, 0)).toBe(false);
    // Version 1 of Fetch, ListOffsets, FindCoordinator and InitProducerId added transactions' fields.
    const atVersion1 = new Set<number>([API_KEYS.fetch, API_KEYS.listOffsets, API_KEYS.findCoordinator, API_KEYS.initProducerId]);
    expect(apiVersionsOfRegistry().apis).toEqual(
      API_KEY_LIST.map((apiKey) => ({ apiKey, minVersion: 0, maxVersion: atVersion1.has(apiKey) ? 1 : 0 })));
  });

  it('decodes a 4 MiB fetch response without copying the records', () => {
    const records = Buffer.alloc(4 * 1024 * 1024, 0xab);
    const body = {
      topics: [{ name: 't', partitions: [{ partition: 0, errorCode: 0, highWatermark: 2 ** 53 - 1, logStartOffset: 0, records, leaderHint: -1, lastStableOffset: 0, abortedTransactions: [] }] }],
    };
    const bytes = encodeResponseBody(API_KEYS.fetch, body);
    const decoded = decodeResponseBody(API_KEYS.fetch, bytes).topics[0]!.partitions[0]!;
    expect(decoded.records.buffer).toBe(bytes.buffer);
    expect(decoded.records.equals(records)).toBe(true);
    expect(decoded.highWatermark).toBe(2 ** 53 - 1);
    const frame = encodeResponseFrame({ correlationId: 1, errorCode: 0 }, API_KEYS.fetch, body);
    const payload = frame.subarray(4);
    const viaFrame = decodeResponseFrame(API_KEYS.fetch, payload).body!.topics[0]!.partitions[0]!.records;
    expect(viaFrame.buffer).toBe(frame.buffer);
    expect(viaFrame.length).toBe(records.length);
  });
});
