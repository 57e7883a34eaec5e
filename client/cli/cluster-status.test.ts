// Method: the status merge and printer on fixed /v1/cluster answers (leader's entry preferred,
// in-sync replicas from follower lag, a down broker, an unknown leader), the answer parser on bad
// shapes, and the collector against local HTTP servers on free ports: one answering, one refusing,
// one that never answers (bounded by the timeout, never a hang).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { collectClusterStatus, formatClusterStatus, summarizeCluster, withoutInternalTopics, type BrokerAnswer } from './cluster-status.js';
import { parseClusterView, type ClusterView } from './cluster-view.js';
import { allocateFreePorts } from './free-ports.js';

const brokers = [1, 2, 3].map((nodeId) => ({ nodeId, host: '127.0.0.1', port: 7400 + nodeId, httpHost: '127.0.0.1', httpPort: 7480 + nodeId }));

/** Broker 1 leads orders-0, broker 2 leads orders-1; broker 3 is down. */
const view1: ClusterView = {
  nodeId: 1,
  metadataLeader: 2,
  metadataTerm: 5,
  brokers,
  partitions: [
    {
      topic: 'orders',
      partition: 0,
      replicas: [1, 2, 3],
      leader: 1,
      leaderEpoch: 3,
      isLeaderHere: true,
      highWatermark: 10,
      logEndOffset: 12,
      followers: [
        { nodeId: 2, matchEnd: 12, lag: 0 },
        { nodeId: 3, matchEnd: 4, lag: 8 },
      ],
    },
    { topic: 'orders', partition: 1, replicas: [2, 3, 1], leader: 2, leaderEpoch: 1, isLeaderHere: false, highWatermark: 7, logEndOffset: 7, followers: [] },
  ],
};
const view2: ClusterView = {
  nodeId: 2,
  metadataLeader: 2,
  metadataTerm: 5,
  brokers,
  partitions: [
    { topic: 'orders', partition: 0, replicas: [1, 2, 3], leader: 1, leaderEpoch: 3, isLeaderHere: false, highWatermark: 10, logEndOffset: 12, followers: [] },
    { topic: 'orders', partition: 1, replicas: [2, 3, 1], leader: 2, leaderEpoch: 1, isLeaderHere: true, highWatermark: 9, logEndOffset: 9, followers: [{ nodeId: 3, matchEnd: 0, lag: 9 }, { nodeId: 1, matchEnd: 9, lag: 0 }] },
  ],
};

describe('summarizeCluster and formatClusterStatus', () => {
  const answers = new Map<number, BrokerAnswer>([
    [1, { view: view1 }],
    [2, { view: view2 }],
    [3, { problem: 'ECONNREFUSED' }],
  ]);

  it("merges the answers, describing each partition by its leader's own entry", () => {
    const status = summarizeCluster(view1, answers);
    expect(status.metadataLeader).toBe(2);
    expect(status.metadataTerm).toBe(5);
    expect(status.brokers.map((b) => [b.nodeId, b.state, b.problem])).toEqual([
      [1, 'up', null],
      [2, 'up', null],
      [3, 'down', 'ECONNREFUSED'],
    ]);
    expect(status.partitions).toEqual([
      { topic: 'orders', partition: 0, leader: 1, leaderEpoch: 3, replicas: [1, 2, 3], isr: [1, 2], highWatermark: 10, logEndOffset: 12, followers: [{ nodeId: 2, lag: 0 }, { nodeId: 3, lag: 8 }], reportedBy: 1 },
      { topic: 'orders', partition: 1, leader: 2, leaderEpoch: 1, replicas: [2, 3, 1], isr: [2, 1], highWatermark: 9, logEndOffset: 9, followers: [{ nodeId: 3, lag: 9 }, { nodeId: 1, lag: 0 }], reportedBy: 2 },
    ]);
  });

  it('prints brokers, the metadata leader and a row per partition', () => {
    expect(formatClusterStatus(summarizeCluster(view1, answers))).toBe(
      [
        'cluster: 3 brokers, 2 up; metadata leader 2 (term 5)',
        '',
        'BROKER  ADDRESS         HTTP            STATE',
        '1       127.0.0.1:7401  127.0.0.1:7481  up',
        '2       127.0.0.1:7402  127.0.0.1:7482  up',
        '3       127.0.0.1:7403  127.0.0.1:7483  down (ECONNREFUSED)',
        '',
        'TOPIC   PARTITION  LEADER  EPOCH  REPLICAS  ISR  HIGH-WATERMARK  LOG-END  FOLLOWER-LAG',
        'orders  0          1       3      1,2,3     1,2  10              12       2:0 3:8',
        'orders  1          2       1      2,3,1     2,1  9               9        3:9 1:0',
      ].join('\n'),
    );
  });

  it("marks in-sync replicas unknown when the leader did not answer, and takes the freshest term's leader", () => {
    const newer: ClusterView = { ...view1, nodeId: 3, metadataLeader: 3, metadataTerm: 6, partitions: [] };
    const status = summarizeCluster(view1, new Map<number, BrokerAnswer>([[1, { view: view1 }], [2, { problem: 'no answer within 2000 ms' }], [3, { view: newer }]]));
    expect(status.metadataLeader).toBe(3);
    expect(status.metadataTerm).toBe(6);
    const partition1 = status.partitions.find((p) => p.partition === 1)!;
    expect(partition1).toMatchObject({ leader: 2, isr: null, reportedBy: 1 });
    expect(formatClusterStatus(status).split('\n').at(-1)).toBe('orders  1          2       1      2,3,1     ?    7               7        ?');
  });

  it('leaves out internal topics when asked, and says how many partitions it left out', () => {
    const offsets = { ...view1.partitions[0]!, topic: '__consumer_offsets' };
    const withOffsets: ClusterView = { ...view1, partitions: [...view1.partitions, offsets, { ...offsets, partition: 1 }] };
    const everything = summarizeCluster(withOffsets, new Map<number, BrokerAnswer>([[1, { view: withOffsets }]]));
    expect(everything.partitions.map((p) => p.topic)).toContain('__consumer_offsets');
    const { status, hidden } = withoutInternalTopics(everything);
    expect(hidden).toBe(2);
    expect(status.partitions.map((p) => `${p.topic}-${p.partition}`)).toEqual(['orders-0', 'orders-1']);
    const text = formatClusterStatus(status, hidden);
    expect(text).not.toContain('__consumer_offsets');
    expect(text.split('\n').slice(-2)).toEqual(['', '(2 partitions of internal topics not shown; --internal shows them)']);
    expect(formatClusterStatus(everything)).toContain('__consumer_offsets');
  });

  it('says when there is no metadata leader or no partition', () => {
    const lonely: ClusterView = { nodeId: 1, metadataLeader: null, metadataTerm: 0, brokers: [{ ...brokers[0]!, httpHost: null, httpPort: null }], partitions: [] };
    expect(formatClusterStatus(summarizeCluster(lonely, new Map()))).toBe(
      ['cluster: 1 broker, 0 up; metadata leader none (term 0)', '', 'BROKER  ADDRESS         HTTP  STATE', '1       127.0.0.1:7401  -     unknown (no HTTP listener)', '', 'no partitions'].join('\n'),
    );
  });
});

describe('parseClusterView', () => {
  it('accepts the documented shape', () => {
    expect(parseClusterView(JSON.parse(JSON.stringify(view1)))).toEqual(view1);
  });

  it('names the first wrong field', () => {
    expect(() => parseClusterView([])).toThrow('answer must be an object');
    expect(() => parseClusterView({ ...view1, metadataTerm: '5' })).toThrow('answer.metadataTerm must be an integer, got "5"');
    expect(() => parseClusterView({ ...view1, brokers: [{ ...brokers[0], httpPort: 1.5 }] })).toThrow('brokers[0].httpPort must be an integer');
    expect(() => parseClusterView({ ...view1, partitions: [{ ...view1.partitions[0], followers: [{ nodeId: 2, lag: 0 }] }] })).toThrow('partitions[0].followers[0].matchEnd must be an integer');
    expect(() => parseClusterView({ ...view1, partitions: [{ ...view1.partitions[0], isLeaderHere: 1 }] })).toThrow('partitions[0].isLeaderHere must be true or false');
  });
});

describe('collectClusterStatus', () => {
  const servers: http.Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  function serve(handler: http.RequestListener): Promise<number> {
    const server = http.createServer(handler);
    servers.push(server);
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  }

  it('shows a refusing broker and a silent one as down within the timeout', async () => {
    const [refusing] = await allocateFreePorts('127.0.0.1', 1);
    const silent = await serve(() => undefined);
    const cluster = (port: number): ClusterView => ({
      ...view1,
      brokers: [
        { nodeId: 1, host: '127.0.0.1', port: 1, httpHost: '127.0.0.1', httpPort: port },
        { nodeId: 2, host: '127.0.0.1', port: 2, httpHost: '127.0.0.1', httpPort: refusing! },
        { nodeId: 3, host: '127.0.0.1', port: 3, httpHost: '127.0.0.1', httpPort: silent },
      ],
    });
    let own = 0;
    own = await serve((request, response) => {
      expect(request.url).toBe('/v1/cluster');
      response.setHeader('content-type', 'application/json').end(JSON.stringify(cluster(own)));
    });
    const started = performance.now();
    const status = await collectClusterStatus([`127.0.0.1:${refusing}`, `127.0.0.1:${own}`], 300);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(status.brokers.map((b) => [b.nodeId, b.state, b.problem])).toEqual([
      [1, 'up', null],
      [2, 'down', 'ECONNREFUSED'],
      [3, 'down', 'no answer within 300 ms'],
    ]);
  });

  it('fails with every reason when no address answers', async () => {
    const garbage = await serve((_, response) => response.setHeader('content-type', 'application/json').end('{"nodeId":"x"}'));
    const notJson = await serve((_, response) => response.end('<html>'));
    const old = await serve((_, response) => response.writeHead(404).end('{"error":{"name":"INVALID_REQUEST"}}'));
    await expect(collectClusterStatus([`127.0.0.1:${garbage}`, `127.0.0.1:${notJson}`, `127.0.0.1:${old}`], 300)).rejects.toThrow(
      new RegExp(
        [
          `^no broker answered GET /v1/cluster: 127\\.0\\.0\\.1:${garbage}: bad /v1/cluster answer: answer\\.nodeId must be an integer, got "x"`,
          `127\\.0\\.0\\.1:${notJson}: bad /v1/cluster answer: .*JSON`,
          `127\\.0\\.0\\.1:${old}: HTTP 404 \\{"error":\\{"name":"INVALID_REQUEST"\\}\\}$`,
        ].join('; '),
      ),
    );
  });
});
