/**
 * The replication module's public surface: the only file other folders import. One Raft
 * implementation for the metadata group and every partition: a pure core (`RaftNode`), the storage
 * and transport contracts a driver needs, the driver itself, and the heartbeat coalescer that lets
 * many groups share one heartbeat per broker pair, and the host that runs a broker's groups over one
 * batch per peer per turn.
 */
export type { Entry, HardState, Proposed, RaftSnapshot } from './entry.js';
export type { Append, AppendResponse, Heartbeat, HeartbeatResponse, InstallSnapshot, Message, MessageType, NodeId, PreVote, TimeoutNow, Vote, VoteResponse } from './message.js';
export { MAJORITY, majorityCommittedEnd, majorityVoteResult, type QuorumRule, type VoteResult } from './quorum.js';
export { parseRaftConfig, RAFT_CONFIG_DEFAULTS, type RaftConfig, type RaftConfigInput, type RandomSource } from './raft-config.js';
export { RaftNode, type ProposeResult } from './raft-node.js';
export type { Progress, ProgressState } from './progress.js';
export { coalesceHeartbeats, expandHeartbeats, type CoalescedHeartbeats, type GroupMessage } from './heartbeat-coalescer.js';
export { NotLeader, ProposalLost, RaftDriver, type RaftDriverOptions, type RaftTransport } from './raft-driver.js';
export { RaftHost, type PeerTransport, type RaftBatch, type RaftHostOptions, type RaftHostTimers } from './raft-host.js';
export type { RaftLogReader, RaftStorage } from './raft-storage.js';
export { mustPersist, type Ready, type Role } from './ready.js';
export { MemoryStorage, StorageFull, type MemoryStorageOptions } from './memory-storage.js';
export { LOG_STORAGE_DEFAULTS, LogStorage, type LogStorageOptions, type SnapshotData } from './log-storage.js';
export { RAFT_STATE_FILE } from './raft-state-file.js';
export { Prng } from './prng.js';
export {
  checkExactlyOnce,
  checkHistory,
  describeExactlyOnce,
  describeVerdict,
  exactlyOnceHeld,
  WriteHistory,
  type ExactlyOnceVerdict,
  type HistoryVerdict,
  type ReadRecord,
  type WriteOutcome,
  type WriteRecord,
} from './history-checker.js';
