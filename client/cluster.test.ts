// Method: a Cluster over a scripted transport (no sockets) where broker 1 is cut off from its peers
// and answers Metadata with no leader, and broker 2 knows the leader. Checks that a leaderless answer
// moves the next Metadata request to another broker instead of asking the same one forever.
import { describe, expect, it } from 'vitest';
import type { ConnectFn } from './broker-pool.js';
import { Cluster } from './cluster.js';
import { parseClientConfig } from './config.js';
import { API_KEYS, StrataError, type Connection, type MetadataResponse } from './protocol/index.js';

function metadataFrom(port: number): MetadataResponse {
  return {
    brokers: [
      { nodeId: 1, host: 'fake', port: 1 },
      { nodeId: 2, host: 'fake', port: 2 },
    ],
    controllerId: 2,
    topics: [{ name: 't', errorCode: 0, partitions: [{ partition: 0, errorCode: 0, leaderId: port === 1 ? -1 : 2, leaderEpoch: 3, replicas: [1, 2], isr: [1, 2] }] }],
  };
}

describe('Cluster metadata routing', () => {
  it('asks another broker after an answer that names no leader', async () => {
    const asked: number[] = [];
    const connect: ConnectFn = async (address) => {
      const connection = {
        closed: false,
        request: async (apiKey: number) => {
          if (apiKey !== API_KEYS.metadata) throw new StrataError('UNSUPPORTED_VERSION');
          asked.push(address.port);
          return metadataFrom(address.port);
        },
        send: () => undefined,
        close: async () => undefined,
        onClose: () => () => undefined,
      };
      return connection as unknown as Connection;
    };
    const cluster = new Cluster(parseClientConfig({ brokers: ['fake:1'] }), { connect });
    try {
      await cluster.refreshMetadata(['t']);
      expect(cluster.metadata.leaderOf('t', 0)).toBeUndefined();
      await cluster.refreshMetadata(['t']);
      expect(asked).toEqual([1, 2]);
      expect(cluster.metadata.leaderOf('t', 0)).toBe(2);
      // Broker 2 answered with a leader: it stays the one asked first.
      await cluster.refreshMetadata(['t']);
      expect(asked).toEqual([1, 2, 2]);
    } finally {
      await cluster.close();
    }
  });
});
