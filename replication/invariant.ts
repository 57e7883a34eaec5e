/**
 * `invariant` guards the Raft core's invariants (terms never decrease, the high watermark never
 * decreases and never passes the log end, a committed entry is never truncated). A failure is a
 * programmer error: it throws log/'s `InvariantViolation`, which no layer catches, so the process
 * stops rather than acknowledge or serve data that is wrong. The checks stay on in production.
 */
import { InvariantViolation } from '../log/index.js';

export function invariant(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantViolation(typeof message === 'function' ? message() : message);
}
