// Method: example-based checks of the option parsers: defaults, the acks spellings, ranges, and the
// refusal of unknown keys (a misspelt option must fail loudly, not fall back to a default).
import { describe, expect, it } from 'vitest';
import { CONSUMER_DEFAULTS, parseAddress, parseClientConfig, parseConsumerConfig, parseProducerConfig } from './config.js';
import { DEFAULT_RETRY } from './retry.js';

describe('client options', () => {
  it('parses bootstrap addresses, IPv6 included', () => {
    expect(parseAddress('127.0.0.1:7401')).toEqual({ host: '127.0.0.1', port: 7401 });
    expect(parseAddress('[::1]:9092')).toEqual({ host: '::1', port: 9092 });
    expect(() => parseAddress('localhost')).toThrow(/host:port/);
    expect(() => parseAddress('h:70000')).toThrow(RangeError);
  });

  it('fills defaults and merges a partial retry policy', () => {
    const config = parseClientConfig({ brokers: ['h:1'], retry: { retries: 2 } });
    expect(config.clientId).toBe('strata');
    expect(config.retry).toEqual({ ...DEFAULT_RETRY, retries: 2 });
    expect(() => parseClientConfig({ brokers: [] })).toThrow(/at least one/);
    expect(() => parseClientConfig({ brokers: ['h:1'], retry: { retries: 1, initialRetryTimeMs: 500, maxRetryTimeMs: 100 } })).toThrow(RangeError);
    expect(() => parseClientConfig({ brokers: ['h:1'], retires: 3 } as never)).toThrow(/unknown option 'retires'/);
  });
});

describe('producer options', () => {
  it('defaults to acks all, 5 ms linger, 16 KiB batches, 5 in flight, 32 MiB buffer', () => {
    expect(parseProducerConfig({}, DEFAULT_RETRY)).toEqual({
      acks: -1, lingerMs: 5, batchSize: 16384, compression: 'none', maxInFlight: 5,
      retries: DEFAULT_RETRY.retries, bufferMemory: 32 * 1024 * 1024, timeoutMs: 30_000,
      idempotent: true, onEpochBump: expect.any(Function), deliveryTimeoutMs: 120_000, adaptiveBatching: true,
      transactionalId: undefined, transactionTimeoutMs: 60_000,
    });
  });

  it('is idempotent by default with acks all, refuses idempotent with acks 0/1 or more than 5 in flight', () => {
    expect(parseProducerConfig({ acks: 'all' }, DEFAULT_RETRY).idempotent).toBe(true);
    expect(parseProducerConfig({ acks: 1 }, DEFAULT_RETRY).idempotent).toBe(false);
    expect(parseProducerConfig({ acks: -1, idempotent: false }, DEFAULT_RETRY).idempotent).toBe(false);
    // Kafka's rule: a conflicting setting turns the default off; an explicit `true` is an error.
    expect(parseProducerConfig({ maxInFlight: 10 }, DEFAULT_RETRY).idempotent).toBe(false);
    expect(() => parseProducerConfig({ acks: 1, idempotent: true }, DEFAULT_RETRY)).toThrow(/idempotent needs acks 'all'/);
    expect(() => parseProducerConfig({ acks: 0, idempotent: true }, DEFAULT_RETRY)).toThrow(/idempotent needs acks 'all'/);
    expect(() => parseProducerConfig({ maxInFlight: 6, idempotent: true }, DEFAULT_RETRY)).toThrow(/at most 5 batches in flight/);
    expect(() => parseProducerConfig({ idempotent: 'yes' as never }, DEFAULT_RETRY)).toThrow(/boolean/);
  });

  it("reads 'all' as -1 and refuses other acks", () => {
    expect(parseProducerConfig({ acks: 'all' }, DEFAULT_RETRY).acks).toBe(-1);
    expect(parseProducerConfig({ acks: 0 }, DEFAULT_RETRY).acks).toBe(0);
    expect(() => parseProducerConfig({ acks: 2 as never }, DEFAULT_RETRY)).toThrow(/acks/);
    expect(() => parseProducerConfig({ compression: 'gzip' as never }, DEFAULT_RETRY)).toThrow(/compression/);
    expect(() => parseProducerConfig({ batchSize: 1024, bufferMemory: 512 }, DEFAULT_RETRY)).toThrow(/bufferMemory/);
  });
});

describe('consumer options', () => {
  it('defaults and ranges', () => {
    expect(parseConsumerConfig({})).toEqual(CONSUMER_DEFAULTS);
    expect(parseConsumerConfig({ maxWaitMs: 0 }).maxWaitMs).toBe(0);
    expect(() => parseConsumerConfig({ maxWaitMs: -1 })).toThrow(RangeError);
    expect(() => parseConsumerConfig({ initialOffset: 'middle' as never })).toThrow(/initialOffset/);
    expect(() => parseConsumerConfig({ groupid: 'g' } as never)).toThrow(/unknown option 'groupid'/);
  });

  it("isolation: read_committed by default (kafkajs's), read_uncommitted on request, nothing else", () => {
    expect(parseConsumerConfig({}).isolation).toBe('read_committed');
    expect(parseConsumerConfig({ isolation: 'read_uncommitted' }).isolation).toBe('read_uncommitted');
    expect(() => parseConsumerConfig({ isolation: 'committed' as never })).toThrow(/isolation must be 'read_committed' or 'read_uncommitted'/);
  });

  it('group options: defaults, ranges, and no group options without a groupId', () => {
    expect(parseConsumerConfig({ groupId: 'g' })).toMatchObject({
      groupId: 'g', autoCommit: true, autoCommitIntervalMs: 5000, sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: undefined, rebalanceTimeoutMs: 30_000, assignor: undefined,
    });
    expect(() => parseConsumerConfig({ autoCommit: false })).toThrow(/'autoCommit' need a groupId/);
    expect(() => parseConsumerConfig({ groupId: '' })).toThrow(/groupId/);
    expect(() => parseConsumerConfig({ groupId: 'g', assignor: 'roundrobin' as never })).toThrow(/assignor/);
    expect(() => parseConsumerConfig({ groupId: 'g', sessionTimeoutMs: 50 })).toThrow(RangeError);
    expect(() => parseConsumerConfig({ groupId: 'g', sessionTimeoutMs: 1000, heartbeatIntervalMs: 1000 })).toThrow(/heartbeatIntervalMs/);
    expect(() => parseConsumerConfig({ groupId: 'g', onRevoked: 'x' as never })).toThrow(/function/);
  });
});
