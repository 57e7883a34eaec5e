/**
 * The process's own metrics — event-loop lag, heap, RSS, CPU, open handles, GC pauses — from
 * prom-client's `collectDefaultMetrics`, in one registry per process (not prom-client's global one).
 *
 * Why one per process and not one per broker: several brokers share a process in tests and in
 * `startCluster`, and these numbers describe the process, not a broker. `collectDefaultMetrics` also
 * starts things that are never stopped (an event-loop delay monitor and a GC PerformanceObserver
 * per call), so calling it per broker would leak one set for each broker ever started. Here it runs
 * once, on the first scrape, and every broker's `/metrics` appends the same registry's text after its
 * own families (whose names never collide with these: `process_*` and `nodejs_*`).
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

let processRegistry: Registry | undefined;

export function processMetricsRegistry(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}
