/**
 * Which segments retention deletes: a pure decision over segment summaries, applied by `Log`.
 *
 * Kafka's rules: walking from the oldest segment, delete while the rule holds —
 * - age: the segment's newest record is older than `retentionMs`;
 * - size: the log minus this segment is still at least `retentionBytes`;
 * - start: the whole segment is below the log start offset (`deleteRecordsBefore`);
 * - empty: a sealed segment that compaction emptied.
 * Deletion stops at the first segment no rule selects (segments go in order, so the log stays a
 * contiguous suffix), never touches a segment at or above `maxOffset` (the high watermark: a
 * replica may still need it), and never deletes the active segment itself: the caller rolls it
 * first when it must go, so the log always keeps a segment to append to.
 */
import type { Offset } from './units.js';

export interface SegmentSummary {
  baseOffset: Offset;
  nextOffset: Offset;
  sizeBytes: number;
  /** -1 when the segment is empty. */
  maxTimestamp: number;
}

export interface RetentionPolicy {
  retentionMs: number;
  retentionBytes: number;
  logStartOffset: Offset;
  /** Exclusive: a segment holding any offset at or above it is kept. */
  maxOffset: Offset;
  now: number;
}

export type RetentionReason = 'age' | 'size' | 'log-start-offset' | 'empty';

export interface RetentionDecision {
  /** How many of the oldest segments to delete. */
  count: number;
  reasons: RetentionReason[];
}

/** `segments` oldest first, the active segment last. */
export function segmentsToDelete(segments: readonly SegmentSummary[], policy: RetentionPolicy): RetentionDecision {
  let remainingBytes = segments.reduce((sum, s) => sum + s.sizeBytes, 0);
  const reasons: RetentionReason[] = [];
  for (const segment of segments) {
    if (segment.nextOffset > policy.maxOffset) break;
    let reason: RetentionReason | undefined;
    // Compaction can empty a sealed segment; it holds nothing and must not stop deletion behind it.
    if (segment.sizeBytes === 0 && segment !== segments.at(-1)) reason = 'empty';
    else if (segment.nextOffset <= policy.logStartOffset && segment.nextOffset > segment.baseOffset) reason = 'log-start-offset';
    else if (policy.retentionMs >= 0 && segment.maxTimestamp >= 0 && policy.now - segment.maxTimestamp > policy.retentionMs) reason = 'age';
    else if (policy.retentionBytes >= 0 && remainingBytes - segment.sizeBytes >= policy.retentionBytes && segment.sizeBytes > 0) reason = 'size';
    if (reason === undefined) break;
    reasons.push(reason);
    remainingBytes -= segment.sizeBytes;
  }
  return { count: reasons.length, reasons };
}
