/**
 * The simulation's scheduler: a binary min-heap of events ordered by (time, sequence number). The
 * sequence number breaks ties in insertion order, so a run is a pure function of its seed.
 */
export interface Scheduled<E> {
  readonly time: number;
  readonly seq: number;
  readonly event: E;
}

export class EventQueue<E> {
  private readonly heap: Scheduled<E>[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(time: number, event: E): void {
    const heap = this.heap;
    heap.push({ time, seq: this.seq++, event });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i] as Scheduled<E>, heap[parent] as Scheduled<E>)) break;
      [heap[i], heap[parent]] = [heap[parent] as Scheduled<E>, heap[i] as Scheduled<E>];
      i = parent;
    }
  }

  pop(): Scheduled<E> | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && before(heap[left] as Scheduled<E>, heap[smallest] as Scheduled<E>)) smallest = left;
      if (right < heap.length && before(heap[right] as Scheduled<E>, heap[smallest] as Scheduled<E>)) smallest = right;
      if (smallest === i) break;
      [heap[i], heap[smallest]] = [heap[smallest] as Scheduled<E>, heap[i] as Scheduled<E>];
      i = smallest;
    }
    return top;
  }
}

function before<E>(a: Scheduled<E>, b: Scheduled<E>): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
