// Method: example-based checks that the config parser applies defaults, accepts every valid key and
// names the key and rule in its error for each kind of bad input.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LOG_CONFIG, parseLogConfig } from './config.js';
import { LogError } from './errors.js';

describe('parseLogConfig', () => {
  it('returns the frozen defaults when given nothing', () => {
    const config = parseLogConfig();
    expect(config).toEqual(DEFAULT_LOG_CONFIG);
    expect(Object.isFrozen(config)).toBe(true);
    expect(config.flushPolicy).toBe('always');
  });

  it('applies overrides', () => {
    const config = parseLogConfig({ segmentBytes: 4096, flushPolicy: 'never', cleanupPolicy: 'compact' });
    expect(config.segmentBytes).toBe(4096);
    expect(config.flushPolicy).toBe('never');
    expect(config.cleanupPolicy).toBe('compact');
    expect(config.retentionMs).toBe(DEFAULT_LOG_CONFIG.retentionMs);
  });

  it.each([
    [{ segmentBytez: 1 }, /unknown key 'segmentBytez'/],
    [{ segmentBytes: 10 }, /'segmentBytes' must be an integer from 1024/],
    [{ segmentBytes: 2 ** 31 }, /'segmentBytes' must be an integer/],
    [{ segmentBytes: '4096' }, /'segmentBytes' must be an integer/],
    [{ retentionMs: -2 }, /'retentionMs' must be an integer from -1/],
    [{ flushPolicy: 'sometimes' }, /'flushPolicy' must be one of always, interval, never/],
    [{ maxBatchBytes: 64 * 1024 * 1024 + 1 }, /'maxBatchBytes' must be an integer from 61 to 67108864/],
    [null, /must be an object/],
    [[1], /must be an object/],
  ])('rejects %j', (input, message) => {
    expect(() => parseLogConfig(input)).toThrow(LogError);
    expect(() => parseLogConfig(input)).toThrow(message);
  });

  it('reports INVALID_CONFIG with Kafka code 40', () => {
    try {
      parseLogConfig({ nope: true });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(LogError);
      expect((error as LogError).code).toBe(40);
      expect((error as LogError).errorName).toBe('INVALID_CONFIG');
    }
  });
});
