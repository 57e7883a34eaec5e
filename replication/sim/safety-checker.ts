/**
 * The Raft safety properties, checked incrementally as the simulation runs (Raft paper, Figure 3),
 * plus Strata's own: the high watermark never goes back, and no committed entry is ever lost.
 *
 * - Election safety: at most one leader per term.
 * - Log matching: two logs holding an entry with the same base offset and term hold the same entry
 *   and the same entries before it. Checked inductively at every write to any node's storage: an
 *   (offset, term) pair always has the same content and the same previous term.
 * - Leader completeness: an entry observed committed while the observer was at term t is in the log
 *   of every leader of a later term (checked when a leader appears and when an entry commits).
 * - State machine safety / the ground truth: the entries ever reported committed, by any node, form
 *   one list; a later report that disagrees is a violation, so is truncating one of them.
 * - Durability: every committed entry is in the durable (synced) state of a majority of nodes; a
 *   crash may lose only what was not synced, so this holds across any crash pattern.
 */
import type { Epoch, Offset } from '../../log/index.js';
import type { Entry } from '../entry.js';
import type { MemoryStorage } from '../memory-storage.js';
import type { NodeId } from '../message.js';
import type { RaftNode } from '../raft-node.js';

export class SafetyViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetyViolation';
  }
}

interface Committed {
  readonly lastOffset: Offset;
  readonly term: Epoch;
  readonly payload: number;
  /** The term of the node that first reported it committed: it was committed at this term or earlier. */
  readonly observedTerm: Epoch;
}

interface Identity {
  readonly lastOffset: Offset;
  readonly payload: number;
  readonly prevTerm: Epoch | undefined;
}

const key = (offset: number, term: number): number => offset * 1048576 + term;

export class SafetyChecker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly identities = new Map<number, Identity>();
  /** Committed entries by base offset. */
  readonly committed = new Map<number, Committed>();
  private currentLeaders: RaftNode<number>[] = [];

  /** Call after every event with the live nodes. */
  observeLeaders(nodes: readonly RaftNode<number>[]): void {
    this.currentLeaders = nodes.filter((n) => n.role === 'leader');
    for (const leader of this.currentLeaders) {
      const known = this.leaderOfTerm.get(leader.term);
      if (known === undefined) {
        this.leaderOfTerm.set(leader.term, leader.id);
        for (const [base, entry] of this.committed) {
          if (entry.observedTerm < leader.term) this.requireHolds(leader, base, entry);
        }
      } else if (known !== leader.id) {
        throw new SafetyViolation(`election safety: nodes ${known} and ${leader.id} are both leaders of term ${leader.term}`);
      }
    }
  }

  /** Entries about to be written to `node`'s storage (log matching, and no committed entry truncated). */
  beforeAppend(node: NodeId, storage: MemoryStorage<number>, entries: readonly Entry<number>[]): void {
    const first = entries[0];
    if (first === undefined) return;
    const end = storage.endOffset();
    if (first.baseOffset < end) {
      for (const removed of storage.entries(first.baseOffset, end, Number.MAX_SAFE_INTEGER)) {
        const committed = this.committed.get(removed.baseOffset);
        if (committed !== undefined && committed.term === removed.term) {
          throw new SafetyViolation(`node ${node} truncated committed entry at ${removed.baseOffset} (term ${removed.term})`);
        }
      }
    }
    let prevTerm = storage.termAt((first.baseOffset - 1) as Offset);
    for (const entry of entries) {
      const k = key(entry.baseOffset, entry.term);
      const known = this.identities.get(k);
      if (known === undefined) {
        this.identities.set(k, { lastOffset: entry.lastOffset, payload: entry.payload, prevTerm });
      } else if (known.lastOffset !== entry.lastOffset || known.payload !== entry.payload || known.prevTerm !== prevTerm) {
        throw new SafetyViolation(
          `log matching: node ${node} writes (${entry.baseOffset}, term ${entry.term}) = ${entry.payload} after term ${prevTerm}, ` +
            `elsewhere it is ${known.payload} after term ${known.prevTerm}`,
        );
      }
      prevTerm = entry.term;
    }
  }

  /** `node` reports its high watermark moved over these entries. */
  observeCommitted(node: RaftNode<number>, entries: readonly Entry<number>[]): void {
    for (const entry of entries) {
      const known = this.committed.get(entry.baseOffset);
      if (known === undefined) {
        const committed: Committed = { lastOffset: entry.lastOffset, term: entry.term, payload: entry.payload, observedTerm: node.term };
        this.committed.set(entry.baseOffset, committed);
        for (const leader of this.currentLeaders) {
          if (leader.term > committed.observedTerm) this.requireHolds(leader, entry.baseOffset, committed);
        }
      } else if (known.term !== entry.term || known.payload !== entry.payload || known.lastOffset !== entry.lastOffset) {
        throw new SafetyViolation(
          `committed entry changed: node ${node.id} commits ${entry.payload} (term ${entry.term}) at ${entry.baseOffset}, ` +
            `which was committed as ${known.payload} (term ${known.term})`,
        );
      }
    }
  }

  /** Every committed entry is durable on a majority (call after a crash and at the end). */
  checkDurable(storages: readonly MemoryStorage<number>[]): void {
    const majority = Math.floor(storages.length / 2) + 1;
    for (const [base, entry] of this.committed) {
      let holders = 0;
      for (const storage of storages) {
        if (storage.durableSnapshot().lastOffset >= entry.lastOffset || durableTerm(storage, base) === entry.term) holders++;
      }
      if (holders < majority) throw new SafetyViolation(`committed entry at ${base} (term ${entry.term}) is durable on ${holders} of ${storages.length} nodes only`);
    }
  }

  private requireHolds(leader: RaftNode<number>, base: number, entry: Committed): void {
    if (entry.lastOffset < leader.log.startOffset) return;
    const term = leader.log.termAt(base as Offset);
    if (term !== entry.term) {
      throw new SafetyViolation(
        `leader completeness: leader ${leader.id} of term ${leader.term} lacks the entry committed at ${base} (term ${entry.term}, seen at term ${entry.observedTerm})`,
      );
    }
  }
}

function durableTerm(storage: MemoryStorage<number>, offset: number): Epoch | undefined {
  const entries = storage.durableEntries();
  let low = 0;
  let high = entries.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const entry = entries[mid] as Entry<number>;
    if (offset < entry.baseOffset) high = mid - 1;
    else if (offset > entry.lastOffset) low = mid + 1;
    else return entry.term;
  }
  return undefined;
}
