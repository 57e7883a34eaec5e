// Method: checks the error table's promises — codes unique, names matching keys, every entry documented.
import { describe, expect, it } from 'vitest';
import { LOG_ERRORS, LogError, type LogErrorName } from './errors.js';

describe('LOG_ERRORS', () => {
  const entries = Object.entries(LOG_ERRORS);

  it('has unique codes', () => {
    const codes = entries.map(([, info]) => info.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('names each entry by its key and documents it', () => {
    for (const [key, info] of entries) {
      expect(info.name).toBe(key);
      expect(info.message.length).toBeGreaterThan(10);
    }
  });

  it('keeps the Kafka codes Kafka tools know', () => {
    expect(LOG_ERRORS.OFFSET_OUT_OF_RANGE.code).toBe(1);
    expect(LOG_ERRORS.CORRUPT_MESSAGE.code).toBe(2);
    expect(LOG_ERRORS.MESSAGE_TOO_LARGE.code).toBe(10);
    expect(LOG_ERRORS.KAFKA_STORAGE_ERROR.code).toBe(56);
  });

  it('builds typed errors carrying code, name and retriable flag', () => {
    const name: LogErrorName = 'CORRUPT_MESSAGE';
    const error = new LogError(name, 'at 42');
    expect(error.code).toBe(2);
    expect(error.retriable).toBe(true);
    expect(error.message).toMatch(/at 42$/);
  });
});
