// Method: the pool runs over a scripted connect function (no sockets): checks that concurrent callers
// share one connection attempt, that a failed connect makes the next one wait for an exponential,
// jittered backoff, that success resets it, and that a closed connection is replaced.
import { describe, expect, it } from 'vitest';
import { BrokerPool, type ConnectFn } from './broker-pool.js';
import { StrataError, type Connection } from './protocol/index.js';
import { backoffMs } from './retry.js';

function fakeConnection() {
  let closed = false;
  const listeners: Array<(error: Error | undefined) => void> = [];
  return {
    get closed() {
      return closed;
    },
    close: async () => {
      closed = true;
    },
    drop() {
      closed = true;
      for (const listener of listeners) listener(undefined);
    },
    onClose(listener: (error: Error | undefined) => void) {
      listeners.push(listener);
      return () => undefined;
    },
  };
}

function pool(script: Array<'fail' | 'ok'>) {
  const attempts: number[] = [];
  const made: Array<ReturnType<typeof fakeConnection>> = [];
  const connect: ConnectFn = async () => {
    attempts.push(Date.now());
    if ((script.shift() ?? 'ok') === 'fail') throw new StrataError('NETWORK_EXCEPTION', 'refused');
    const connection = fakeConnection();
    made.push(connection);
    return connection as unknown as Connection;
  };
  const brokers = new BrokerPool({
    clientId: 't',
    requestTimeoutMs: 1000,
    connectTimeoutMs: 1000,
    retry: { retries: 5, initialRetryTimeMs: 40, maxRetryTimeMs: 1000 },
    connect,
  });
  return { brokers, attempts, made };
}

const address = { host: 'h', port: 1 };

describe('BrokerPool', () => {
  it('shares one connect between concurrent callers and reuses the connection', async () => {
    const { brokers, attempts } = pool(['ok']);
    const [a, b] = await Promise.all([brokers.get(address), brokers.get(address)]);
    expect(a).toBe(b);
    expect(await brokers.get(address)).toBe(a);
    expect(attempts).toHaveLength(1);
    await brokers.close();
  });

  it('backs off after failed connects, then resets on success', async () => {
    const { brokers, attempts } = pool(['fail', 'fail', 'ok']);
    await expect(brokers.get(address)).rejects.toThrow(StrataError);
    await expect(brokers.get(address)).rejects.toThrow(StrataError);
    await brokers.get(address);
    expect(attempts).toHaveLength(3);
    // 40 ms ± 20%, then 80 ms ± 20% (timers may fire a millisecond early).
    expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(31);
    expect(attempts[2]! - attempts[1]!).toBeGreaterThanOrEqual(63);
    await brokers.close();
  });

  it('replaces a connection that closed, at once', async () => {
    const { brokers, made } = pool([]);
    const first = await brokers.get(address);
    made[0]!.drop();
    expect(brokers.isConnected(address)).toBe(false);
    const second = await brokers.get(address);
    expect(second).not.toBe(first);
    await brokers.close();
    await expect(brokers.get(address)).rejects.toThrow(/closed/);
  });
});

describe('BrokerPool lanes', () => {
  it('gives a lane a connection of its own and closes only that lane', async () => {
    const { brokers, made } = pool([]);
    const shared = await brokers.get(address);
    const lane = await brokers.get(address, 'heartbeat-1');
    expect(lane).not.toBe(shared);
    expect(await brokers.get(address, 'heartbeat-1')).toBe(lane);
    expect(brokers.isConnected(address, 'heartbeat-1')).toBe(true);
    await brokers.closeLane('heartbeat-1');
    expect(made[1]!.closed).toBe(true);
    expect(made[0]!.closed).toBe(false);
    expect(brokers.isConnected(address, 'heartbeat-1')).toBe(false);
    expect(await brokers.get(address)).toBe(shared);
    expect(await brokers.get(address, 'heartbeat-1')).not.toBe(lane);
    await brokers.close();
  });
});

describe('backoffMs', () => {
  it('doubles from initialRetryTimeMs, jitters by ±20% and caps at maxRetryTimeMs', () => {
    const options = { retries: 10, initialRetryTimeMs: 100, maxRetryTimeMs: 1000 };
    expect(backoffMs(0, options, () => 0.5)).toBe(100);
    expect(backoffMs(1, options, () => 0.5)).toBe(200);
    expect(backoffMs(2, options, () => 0)).toBe(320);
    expect(backoffMs(2, options, () => 0.999999)).toBe(480);
    expect(backoffMs(20, options, () => 0.999999)).toBe(1000);
  });
});
