// Method: checks the error table's own invariants over every entry (unique codes, names equal keys,
// Kafka's codes where Kafka has the error, LOG_ERRORS included unchanged) and the error classes'
// mapping from names and wire codes.
import { describe, expect, it } from 'vitest';
import { LOG_ERRORS, LogError } from '../../log/index.js';
import {
  ERRORS,
  errorByCode,
  errorByName,
  errorCodeOf,
  FrameTooLargeError,
  ProtocolError,
  StrataError,
  type ErrorName,
} from './index.js';

describe('ERRORS', () => {
  const entries = Object.entries(ERRORS);

  it('has unique codes, names equal to their keys, and a message for each', () => {
    const codes = entries.map(([, e]) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const [key, e] of entries) {
      expect(e.name).toBe(key);
      expect(Number.isInteger(e.code)).toBe(true);
      expect(e.message.length).toBeGreaterThan(0);
      expect(typeof e.retriable).toBe('boolean');
    }
  });

  it('includes every LOG_ERRORS entry unchanged', () => {
    for (const [name, info] of Object.entries(LOG_ERRORS)) {
      expect(ERRORS[name as ErrorName]).toEqual(info);
    }
  });

  it("uses Kafka's codes and retriable flags for Kafka's errors", () => {
    const kafka: Array<[ErrorName, number, boolean]> = [
      ['NONE', 0, false], ['UNKNOWN_SERVER_ERROR', -1, false], ['OFFSET_OUT_OF_RANGE', 1, false],
      ['CORRUPT_MESSAGE', 2, true], ['UNKNOWN_TOPIC_OR_PARTITION', 3, true], ['LEADER_NOT_AVAILABLE', 5, true],
      ['NOT_LEADER_OR_FOLLOWER', 6, true], ['REQUEST_TIMED_OUT', 7, true], ['MESSAGE_TOO_LARGE', 10, false],
      ['NETWORK_EXCEPTION', 13, true], ['INVALID_TOPIC_EXCEPTION', 17, false], ['NOT_ENOUGH_REPLICAS', 19, true],
      ['NOT_ENOUGH_REPLICAS_AFTER_APPEND', 20, true], ['INVALID_REQUIRED_ACKS', 21, false],
      ['UNSUPPORTED_VERSION', 35, false], ['TOPIC_ALREADY_EXISTS', 36, false], ['INVALID_PARTITIONS', 37, false],
      ['INVALID_REPLICATION_FACTOR', 38, false], ['INVALID_CONFIG', 40, false], ['NOT_CONTROLLER', 41, true],
      ['INVALID_REQUEST', 42, false], ['KAFKA_STORAGE_ERROR', 56, true],
      ['OUT_OF_ORDER_SEQUENCE_NUMBER', 45, false], ['INVALID_PRODUCER_EPOCH', 47, false], ['UNKNOWN_PRODUCER_ID', 59, false],
    ];
    for (const [name, code, retriable] of kafka) {
      expect(ERRORS[name]).toMatchObject({ code, retriable });
    }
  });

  it("keeps Strata's own codes at 1000 and above", () => {
    for (const name of ['LOG_CLOSED', 'FRAME_TOO_LARGE', 'TOO_MANY_CONNECTIONS', 'BROKER_SHUTTING_DOWN', 'INVALID_RESPONSE'] as const) {
      expect(ERRORS[name].code).toBeGreaterThanOrEqual(1000);
    }
  });

  it('looks entries up by code and by name', () => {
    for (const [name, e] of entries) {
      expect(errorByCode(e.code)).toBe(e);
      expect(errorByName(name)).toBe(e);
    }
    expect(errorByCode(123_456)).toBeUndefined();
    expect(errorByName('toString')).toBeUndefined();
  });
});

describe('error classes', () => {
  it('StrataError carries code, name, retriable flag and leader hint', () => {
    const error = new StrataError('NOT_LEADER_OR_FOLLOWER', 'partition t-0', { leaderHint: 2 });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ code: 6, errorName: 'NOT_LEADER_OR_FOLLOWER', retriable: true, leaderHint: 2 });
    expect(error.message).toContain('partition t-0');
    expect(new StrataError('NONE').leaderHint).toBeUndefined();
  });

  it('fromCode maps wire codes, and keeps an unknown code', () => {
    expect(StrataError.fromCode(36)).toMatchObject({ errorName: 'TOPIC_ALREADY_EXISTS', code: 36 });
    expect(StrataError.fromCode(9999)).toMatchObject({ errorName: 'UNKNOWN_SERVER_ERROR', code: 9999, retriable: false });
  });

  it('ProtocolError and FrameTooLargeError are StrataErrors', () => {
    const error = new FrameTooLargeError(200, 100);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toBeInstanceOf(StrataError);
    expect(error).toMatchObject({ code: ERRORS.FRAME_TOO_LARGE.code, frameBytes: 200, maxFrameBytes: 100 });
  });

  it('errorCodeOf reads StrataError and LogError codes and maps anything else to UNKNOWN_SERVER_ERROR', () => {
    expect(errorCodeOf(new StrataError('INVALID_REQUEST'))).toBe(42);
    expect(errorCodeOf(new LogError('OFFSET_OUT_OF_RANGE'))).toBe(1);
    expect(errorCodeOf(new TypeError('bug'))).toBe(-1);
    expect(errorCodeOf('nope')).toBe(-1);
  });
});
