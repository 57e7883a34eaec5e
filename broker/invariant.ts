/**
 * `invariant` guards the broker's invariants (a high watermark only grows and never passes the log
 * end; responses leave a connection in arrival order). A failure is a programmer error: it throws the
 * storage engine's `InvariantViolation`, which no layer of the broker catches, so the process stops
 * rather than serve or store something wrong.
 */
import { InvariantViolation } from '../log/index.js';

export function invariant(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantViolation(typeof message === 'function' ? message() : message);
}
