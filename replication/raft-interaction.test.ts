// Method: scripted interactions that read like a transcript (after etcd's testdata/*.txt): deliver
// messages, tick, crash, restart, and print every node's state (role, term, vote, high watermark, log
// as offset:term:payload) against an inline snapshot.
import { describe, expect, it } from 'vitest';
import { LocalCluster } from './sim/local-cluster.js';

describe('Raft transcripts', () => {
  it('election, replication, a follower crash that loses nothing synced, and its catch-up', () => {
    const c = new LocalCluster(3);
    c.elect(1);
    expect(c.describe()).toMatchInlineSnapshot(`
      "1: leader term=1 vote=1 hw=1 end=1 [0:1:leader-change(1,1)]
      2: follower term=1 vote=1 hw=1 end=1 [0:1:leader-change(1,1)]
      3: follower term=1 vote=1 hw=0 end=1 [0:1:leader-change(1,1)]"
    `);
    c.propose(1, 'a');
    c.propose(1, 'b');
    c.deliver();
    expect(c.describe()).toMatchInlineSnapshot(`
      "1: leader term=1 vote=1 hw=3 end=3 [0:1:leader-change(1,1) 1:1:a 2:1:b]
      2: follower term=1 vote=1 hw=3 end=3 [0:1:leader-change(1,1) 1:1:a 2:1:b]
      3: follower term=1 vote=1 hw=3 end=3 [0:1:leader-change(1,1) 1:1:a 2:1:b]"
    `);
    c.crash(3);
    c.propose(1, 'c');
    c.deliver();
    expect(c.describe()).toMatchInlineSnapshot(`
      "1: leader term=1 vote=1 hw=4 end=4 [0:1:leader-change(1,1) 1:1:a 2:1:b 3:1:c]
      2: follower term=1 vote=1 hw=4 end=4 [0:1:leader-change(1,1) 1:1:a 2:1:b 3:1:c]
      3: down"
    `);
    c.restart(3);
    c.heartbeats(1);
    expect(c.describe()).toMatchInlineSnapshot(`
      "1: leader term=1 vote=1 hw=4 end=4 [0:1:leader-change(1,1) 1:1:a 2:1:b 3:1:c]
      2: follower term=1 vote=1 hw=4 end=4 [0:1:leader-change(1,1) 1:1:a 2:1:b 3:1:c]
      3: follower term=1 vote=1 hw=4 end=4 [0:1:leader-change(1,1) 1:1:a 2:1:b 3:1:c]"
    `);
  });

  it('an isolated leader steps down, a new leader takes over, and the old one drops its uncommitted tail', () => {
    const c = new LocalCluster(3);
    c.elect(1);
    c.isolate(1);
    c.propose(1, 'orphan');
    c.deliver();
    // Two election timeouts without a quorum: check-quorum makes it step down.
    c.tick(1, 20);
    expect(c.describe()).toMatchInlineSnapshot(`
      "1: follower term=1 vote=1 hw=1 end=2 [0:1:leader-change(1,1) 1:1:orphan]
      2: follower term=1 vote=1 hw=1 end=1 [0:1:leader-change(1,1)]
      3: follower term=1 vote=1 hw=0 end=1 [0:1:leader-change(1,1)]"
    `);
    let leader: number | undefined;
    for (let i = 0; i < 40 && leader === undefined; i++) {
      c.tick(2);
      c.tick(3);
      c.deliver();
      leader = [2, 3].find((id) => c.node(id).role === 'leader');
    }
    c.propose(leader!, 'x');
    c.deliver();
    expect(c.describe()).toMatchInlineSnapshot(`
      "1: follower term=1 vote=1 hw=1 end=2 [0:1:leader-change(1,1) 1:1:orphan]
      2: leader term=2 vote=2 hw=3 end=3 [0:1:leader-change(1,1) 1:2:leader-change(2,2) 2:2:x]
      3: follower term=2 vote=2 hw=3 end=3 [0:1:leader-change(1,1) 1:2:leader-change(2,2) 2:2:x]"
    `);
    c.heal();
    c.heartbeats(leader!);
    expect(c.describe()).toMatchInlineSnapshot(`
      "1: follower term=2 vote=- hw=3 end=3 [0:1:leader-change(1,1) 1:2:leader-change(2,2) 2:2:x]
      2: leader term=2 vote=2 hw=3 end=3 [0:1:leader-change(1,1) 1:2:leader-change(2,2) 2:2:x]
      3: follower term=2 vote=2 hw=3 end=3 [0:1:leader-change(1,1) 1:2:leader-change(2,2) 2:2:x]"
    `);
  });
});
