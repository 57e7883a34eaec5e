/**
 * `invariant` guards the storage engine's invariants (offsets only grow, positions stay inside their
 * file, a high watermark never passes the log end). A failure is a programmer error: it throws an
 * `InvariantViolation`, which no layer catches, so the process stops before it can corrupt data.
 * The checks stay on in production; they are cheap next to the I/O they guard.
 */
export class InvariantViolation extends Error {
  constructor(message: string) {
    super(`invariant violated: ${message}`);
    this.name = 'InvariantViolation';
  }
}

export function invariant(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantViolation(typeof message === 'function' ? message() : message);
}
