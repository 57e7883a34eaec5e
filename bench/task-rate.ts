/** Reading tinybench results the same way in every bench. */
import type { Task } from 'tinybench';

/** Operations per second from the mean latency (total time / runs), not the mean of per-sample rates. */
export function opsPerSecond(task: Task | undefined): number {
  const result = task?.result;
  if (result === undefined || !('period' in result)) throw new Error(`bench task ${task?.name} did not complete`);
  return 1000 / result.period;
}
