// Method: the committer runs over a fake coordinator connection (injected as the client's transport)
// that stores offsets in the order requests arrive, delays answers, and fails requests on script;
// checks that commits are pipelined within the in-flight bound, that a retried commit never
// overwrites a newer offset of its partition, and how each error class ends (retry, wait for a
// heartbeat, reject).
import { describe, expect, it } from 'vitest';
import type { ConnectFn } from './broker-pool.js';
import { Client } from './client.js';
import { GroupCoordinatorClient } from './group-coordinator-client.js';
import { COMMIT_MAX_IN_FLIGHT } from './limits.js';
import { OffsetCommitter } from './offset-committer.js';
import { API_KEYS, ERRORS, StrataError, type Connection, type OffsetCommitRequest } from './protocol/index.js';

class FakeCoordinator {
  readonly stored = new Map<number, number>();
  readonly sent: Array<{ partition: number; offset: number; epoch: number }> = [];
  /** Error codes for the next commit requests (whole request, or per partition with 'partition:'). */
  readonly faults: Array<number | { partitionCode: number }> = [];
  delayMs = 0;
  inFlight = 0;
  maxInFlight = 0;
  findCoordinators = 0;

  readonly connect: ConnectFn = async () =>
    ({
      closed: false,
      request: async (apiKey: number, body: unknown) => {
        if (apiKey === API_KEYS.findCoordinator) {
          this.findCoordinators++;
          return { coordinators: [{ key: 'g', errorCode: 0, errorMessage: '', nodeId: 1, host: 'fake', port: 1 }] };
        }
        if (apiKey !== API_KEYS.offsetCommit) throw new StrataError('UNSUPPORTED_VERSION');
        const request = body as OffsetCommitRequest;
        // Applied in arrival order, as the broker does; answered later.
        const fault = this.faults.shift();
        const whole = typeof fault === 'number' ? fault : 0;
        const perPartition = typeof fault === 'object' ? fault.partitionCode : 0;
        for (const t of request.topics) {
          for (const p of t.partitions) {
            this.sent.push({ partition: p.partition, offset: p.committedOffset, epoch: request.memberEpoch });
            if (whole === 0 && perPartition === 0) this.stored.set(p.partition, p.committedOffset);
          }
        }
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        await new Promise((resolve) => setTimeout(resolve, this.delayMs));
        this.inFlight--;
        return {
          errorCode: whole,
          errorMessage: '',
          topics: request.topics.map((t) => ({
            name: t.name,
            partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode: whole || perPartition, errorMessage: '' })),
          })),
        };
      },
      close: async () => undefined,
      onClose: () => () => undefined,
    }) as unknown as Connection;
}

function setup(fake: FakeCoordinator) {
  const client = new Client({ brokers: ['fake:1'], retry: { retries: 5, initialRetryTimeMs: 1, maxRetryTimeMs: 5 } }, { connect: fake.connect });
  let epoch = 1;
  let heartbeats = 0;
  const committer = new OffsetCommitter({
    coordinator: new GroupCoordinatorClient(client.cluster, 'g'),
    member: () => ({ memberId: 'm1', memberEpoch: epoch }),
    nextHeartbeat: async () => {
      heartbeats++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      epoch++;
    },
    retry: client.config.retry,
    maxInFlight: COMMIT_MAX_IN_FLIGHT,
  });
  return { client, committer, heartbeats: () => heartbeats };
}

const at = (partition: number, offset: number) => ({ topic: 't', partition, offset });

describe('OffsetCommitter', () => {
  it('pipelines commits up to its in-flight bound and lands the last offset of each partition', async () => {
    const fake = new FakeCoordinator();
    fake.delayMs = 5;
    const { client, committer } = setup(fake);
    const commits: Array<Promise<void>> = [];
    for (let i = 0; i < 300; i++) {
      commits.push(committer.commit([at(i % 3, i + 1)]));
      if (i % 3 === 2) await new Promise((resolve) => setImmediate(resolve)); // an application between commits
    }
    await Promise.all(commits);
    expect(fake.maxInFlight).toBeGreaterThan(1);
    expect(fake.maxInFlight).toBeLessThanOrEqual(COMMIT_MAX_IN_FLIGHT);
    expect(fake.stored).toEqual(new Map([[0, 298], [1, 299], [2, 300]]));
    expect(committer.pending).toBe(0);
    await client.close();
  });

  it('never lets a retried commit overwrite a newer offset of its partition', async () => {
    const fake = new FakeCoordinator();
    fake.delayMs = 5;
    fake.faults.push(ERRORS.NOT_COORDINATOR.code);
    const { client, committer } = setup(fake);
    const older = committer.commit([at(0, 10), at(1, 10)]);
    await new Promise((resolve) => setTimeout(resolve, 1)); // older is in flight (and will fail)
    const newer = committer.commit([at(0, 20)]);
    await Promise.all([older, newer]);
    // Partition 0's 10 was superseded by 20 and is not sent again; partition 1's 10 is.
    expect(fake.sent).toEqual([
      { partition: 0, offset: 10, epoch: 1 },
      { partition: 1, offset: 10, epoch: 1 },
      { partition: 0, offset: 20, epoch: 1 },
      { partition: 1, offset: 10, epoch: 1 },
    ]);
    expect(fake.stored).toEqual(new Map([[0, 20], [1, 10]]));
    // NOT_COORDINATOR made it look the coordinator up again.
    expect(fake.findCoordinators).toBe(2);
    await client.close();
  });

  it('coalesces queued commits into one request, each partition at its newest offset', async () => {
    const fake = new FakeCoordinator();
    const { client, committer } = setup(fake);
    // Asked for in one go: they queue while the connection is being set up, and leave together.
    await Promise.all([committer.commit([at(0, 1), at(1, 1)]), committer.commit([at(0, 2)]), committer.commit([at(0, 3), at(2, 1)])]);
    expect(fake.sent).toEqual([{ partition: 0, offset: 3, epoch: 1 }, { partition: 1, offset: 1, epoch: 1 }, { partition: 2, offset: 1, epoch: 1 }]);
    await client.close();
  });

  it('retries STALE_MEMBER_EPOCH after the next heartbeat, with the epoch it brought', async () => {
    const fake = new FakeCoordinator();
    fake.faults.push({ partitionCode: ERRORS.STALE_MEMBER_EPOCH.code });
    const { client, committer, heartbeats } = setup(fake);
    await committer.commit([at(0, 5)]);
    expect(heartbeats()).toBe(1);
    expect(fake.sent.map((s) => s.epoch)).toEqual([1, 2]);
    expect(fake.stored.get(0)).toBe(5);
    await client.close();
  });

  it('rejects when the partition is not ours any more, without retrying', async () => {
    const fake = new FakeCoordinator();
    fake.faults.push({ partitionCode: ERRORS.PARTITION_NOT_ASSIGNED.code }, ERRORS.FENCED_MEMBER_EPOCH.code);
    const { client, committer } = setup(fake);
    await expect(committer.commit([at(0, 5)])).rejects.toMatchObject({ errorName: 'PARTITION_NOT_ASSIGNED' });
    await expect(committer.commit([at(0, 6)])).rejects.toMatchObject({ errorName: 'FENCED_MEMBER_EPOCH' });
    expect(fake.sent).toHaveLength(2);
    committer.close();
    await expect(committer.commit([at(0, 7)])).rejects.toThrow(/closed/);
    await client.close();
  });
});
