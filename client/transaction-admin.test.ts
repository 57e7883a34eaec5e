// Method: the admin's transaction calls run against a fake two-broker cluster injected as the
// client's transport; each broker answers ListTransactions with the ids it coordinates, and
// FindCoordinator (key type 1) sends each id to its broker. Checks the merge of every broker's
// listing, the state filter passed on and checked, describe routed to each id's coordinator, and an
// unknown id rejected with its name.
import { describe, expect, it } from 'vitest';
import type { ConnectFn } from './broker-pool.js';
import { Client } from './client.js';
import { API_KEYS, ERRORS, StrataError, type Connection, type DescribeTransactionsRequest, type FindCoordinatorRequest, type ListTransactionsRequest } from './protocol/index.js';

/** Which port (= node id) coordinates each id, and what it knows. */
const COORDINATED: Record<string, { node: number; state: string; topics: Array<{ name: string; partitions: number[] }> }> = {
  alpha: { node: 1, state: 'Ongoing', topics: [{ name: 'b', partitions: [1] }, { name: 'a', partitions: [2, 0] }] },
  beta: { node: 2, state: 'CompleteCommit', topics: [] },
};

function fakeCluster() {
  const seen: Array<{ node: number; api: number; body: unknown }> = [];
  const connect: ConnectFn = async ({ port }) =>
    ({
      closed: false,
      request: async (api: number, body: unknown) => {
        seen.push({ node: port, api, body });
        if (api === API_KEYS.metadata) return { brokers: [{ nodeId: 1, host: 'fake', port: 1 }, { nodeId: 2, host: 'fake', port: 2 }], controllerId: 1, topics: [] };
        if (api === API_KEYS.findCoordinator) {
          const key = (body as FindCoordinatorRequest).keys[0]!;
          const node = COORDINATED[key]?.node ?? 1;
          return { coordinators: [{ key, errorCode: 0, errorMessage: '', nodeId: node, host: 'fake', port: node }] };
        }
        if (api === API_KEYS.listTransactions) {
          const filters = (body as ListTransactionsRequest).stateFilters;
          const mine = Object.entries(COORDINATED).filter(([, t]) => t.node === port && (filters.length === 0 || filters.includes(t.state)));
          // Both brokers list 'beta' (its coordinator moving): it must appear once.
          if (port === 1 && filters.length === 0) mine.push(['beta', COORDINATED.beta!]);
          return {
            errorCode: 0, errorMessage: '',
            transactionStates: mine.map(([id, t]) => ({ transactionalId: id, producerId: t.node * 10, state: t.state, transactionStartTimeMs: -1, transactionTimeoutMs: 60000 })),
          };
        }
        if (api === API_KEYS.describeTransactions) {
          const id = (body as DescribeTransactionsRequest).transactionalIds[0]!;
          const t = COORDINATED[id];
          if (t === undefined || t.node !== port) {
            return { transactionStates: [{ errorCode: ERRORS.TRANSACTIONAL_ID_NOT_FOUND.code, errorMessage: '', transactionalId: id, state: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1, producerId: -1, producerEpoch: -1, topics: [] }] };
          }
          return { transactionStates: [{ errorCode: 0, errorMessage: '', transactionalId: id, state: t.state, transactionTimeoutMs: 60000, transactionStartTimeMs: 5, producerId: t.node * 10, producerEpoch: 3, topics: t.topics }] };
        }
        throw new StrataError('UNSUPPORTED_VERSION');
      },
      close: async () => undefined,
      onClose: () => () => undefined,
    }) as unknown as Connection;
  const client = new Client({ brokers: ['fake:1'], retry: { retries: 2, initialRetryTimeMs: 1, maxRetryTimeMs: 5 } }, { connect });
  return { client, seen };
}

describe('admin transactions', () => {
  it('listTransactions asks every broker and merges their answers by id', async () => {
    const { client, seen } = fakeCluster();
    const admin = client.admin();
    expect((await admin.listTransactions()).map((t) => [t.transactionalId, t.state, t.producerId])).toEqual([
      ['alpha', 'Ongoing', 10],
      ['beta', 'CompleteCommit', 20],
    ]);
    expect(new Set(seen.filter((s) => s.api === API_KEYS.listTransactions).map((s) => s.node))).toEqual(new Set([1, 2]));
    expect((await admin.listTransactions({ states: ['Ongoing'] })).map((t) => t.transactionalId)).toEqual(['alpha']);
    await expect(admin.listTransactions({ states: ['Open'] })).rejects.toThrow(/unknown state 'Open'; known: Empty, Ongoing/);
    await client.close();
  });

  it('describeTransactions asks each id\'s coordinator and sorts the partitions', async () => {
    const { client, seen } = fakeCluster();
    const admin = client.admin();
    const [alpha, beta] = await admin.describeTransactions(['alpha', 'beta']);
    expect(alpha).toEqual({
      transactionalId: 'alpha', state: 'Ongoing', producerId: 10, producerEpoch: 3, transactionTimeoutMs: 60000, transactionStartTimeMs: 5,
      partitions: [{ topic: 'a', partition: 0 }, { topic: 'a', partition: 2 }, { topic: 'b', partition: 1 }],
    });
    expect(beta).toMatchObject({ transactionalId: 'beta', state: 'CompleteCommit', partitions: [] });
    expect(seen.filter((s) => s.api === API_KEYS.findCoordinator).map((s) => (s.body as FindCoordinatorRequest).keyType)).toEqual([1, 1]);
    expect(seen.filter((s) => s.api === API_KEYS.describeTransactions).map((s) => s.node).sort()).toEqual([1, 2]);
    await expect(admin.describeTransactions(['nope'])).rejects.toThrow(/TRANSACTIONAL_ID|no state for this transactional id.*'nope'/);
    await expect(admin.describeTransactions([''])).rejects.toThrow(TypeError);
    await client.close();
  });
});
