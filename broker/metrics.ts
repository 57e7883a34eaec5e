/**
 * A small metrics registry and the Prometheus text exposition format (version 0.0.4), written here
 * rather than taken from a dependency because the broker needs little of it:
 *
 * ```
 * # HELP strata_requests_total Requests served, per api.
 * # TYPE strata_requests_total counter
 * strata_requests_total{api="produce"} 42
 * # TYPE strata_request_duration_seconds histogram
 * strata_request_duration_seconds_bucket{api="produce",le="0.005"} 40     cumulative counts,
 * strata_request_duration_seconds_bucket{api="produce",le="+Inf"} 42      the last one = _count
 * strata_request_duration_seconds_sum{api="produce"} 0.093
 * strata_request_duration_seconds_count{api="produce"} 42
 * ```
 *
 * Label values escape `\`, `"` and newline; HELP text escapes `\` and newline. Metric and label names
 * are checked when a family is registered (a bad name is a programmer error and throws).
 *
 * The broker's numbers live where they are counted (`broker-stats.ts`, the partitions); a scrape
 * builds a fresh registry from them (`broker-metrics.ts`), so families here are set, not incremented.
 * `Histogram` is the one piece used on the request path: fixed buckets, no allocation per observation.
 */

export type Labels = Readonly<Record<string, string | number>>;

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** A histogram's state: per-bucket counts (not cumulative), the last one for values above every bound. */
export interface HistogramSnapshot {
  /** Upper bounds, strictly increasing and finite; `+Inf` is implied. */
  readonly bounds: readonly number[];
  /** `bounds.length + 1` counts: `counts[i]` holds values in (bounds[i-1], bounds[i]]. */
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export class MetricsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetricsError';
  }
}

function checkBounds(bounds: readonly number[]): void {
  if (bounds.length === 0) throw new MetricsError('a histogram needs at least one bucket bound');
  bounds.forEach((bound, i) => {
    if (!Number.isFinite(bound)) throw new MetricsError(`histogram bound ${bound} is not finite (+Inf is implied)`);
    if (i > 0 && bound <= (bounds[i - 1] as number)) throw new MetricsError(`histogram bounds must increase strictly: ${bounds.join(', ')}`);
  });
}

/** Counts observations into fixed buckets. `observe` is a short scan over the bounds and two additions. */
export class Histogram {
  readonly bounds: readonly number[];
  private readonly counts: number[];
  private total = 0;
  private observations = 0;

  constructor(bounds: readonly number[]) {
    checkBounds(bounds);
    this.bounds = Object.freeze([...bounds]);
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > (this.bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.total += value;
    this.observations += 1;
  }

  snapshot(): HistogramSnapshot {
    return { bounds: this.bounds, counts: [...this.counts], sum: this.total, count: this.observations };
  }
}

/** A number as the exposition format writes it (Go's ParseFloat reads it back). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function checkLabels(labels: Labels, reserved: readonly string[]): void {
  for (const name of Object.keys(labels)) {
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new MetricsError(`invalid label name '${name}'`);
    if (reserved.includes(name)) throw new MetricsError(`label name '${name}' is reserved here`);
  }
}

function formatLabels(labels: Labels, extra?: readonly [string, string]): string {
  const parts = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(String(value))}"`);
  if (extra !== undefined) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** The series key of a label set: the same labels in another order are the same series. */
function seriesKey(labels: Labels): string {
  const pairs = Object.entries(labels).map(([k, v]): [string, string] => [k, String(v)]);
  return JSON.stringify(pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

abstract class Family<V> {
  readonly name: string;
  readonly help: string;
  abstract readonly type: MetricType;
  protected readonly series = new Map<string, { labels: Labels; value: V }>();

  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }

  protected put(labels: Labels, value: V, reserved: readonly string[] = []): void {
    checkLabels(labels, reserved);
    this.series.set(seriesKey(labels), { labels, value });
  }

  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`);
    for (const { labels, value } of this.series.values()) this.renderSeries(lines, labels, value);
  }

  protected abstract renderSeries(lines: string[], labels: Labels, value: V): void;
}

/** Counters and gauges: one number per label set. */
export class ValueFamily extends Family<number> {
  readonly type: 'counter' | 'gauge';

  constructor(name: string, help: string, type: 'counter' | 'gauge') {
    super(name, help);
    this.type = type;
  }

  set(labels: Labels, value: number): this {
    if (this.type === 'counter' && !(value >= 0)) throw new MetricsError(`counter ${this.name} cannot be ${value}`);
    this.put(labels, value);
    return this;
  }

  protected renderSeries(lines: string[], labels: Labels, value: number): void {
    lines.push(`${this.name}${formatLabels(labels)} ${formatValue(value)}`);
  }
}

export class HistogramFamily extends Family<HistogramSnapshot> {
  readonly type = 'histogram' as const;

  set(labels: Labels, histogram: HistogramSnapshot): this {
    checkBounds(histogram.bounds);
    if (histogram.counts.length !== histogram.bounds.length + 1) throw new MetricsError(`histogram ${this.name} needs ${histogram.bounds.length + 1} counts`);
    this.put(labels, histogram, ['le']);
    return this;
  }

  protected renderSeries(lines: string[], labels: Labels, histogram: HistogramSnapshot): void {
    let cumulative = 0;
    histogram.bounds.forEach((bound, i) => {
      cumulative += histogram.counts[i] as number;
      lines.push(`${this.name}_bucket${formatLabels(labels, ['le', formatValue(bound)])} ${cumulative}`);
    });
    cumulative += histogram.counts[histogram.bounds.length] as number;
    lines.push(`${this.name}_bucket${formatLabels(labels, ['le', '+Inf'])} ${cumulative}`);
    lines.push(`${this.name}_sum${formatLabels(labels)} ${formatValue(histogram.sum)}`);
    lines.push(`${this.name}_count${formatLabels(labels)} ${cumulative}`);
  }
}

/** Metric families in registration order; `render()` writes the exposition text. */
export class MetricsRegistry {
  /** The content type of `render()`'s output. */
  static readonly CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
  private readonly families = new Map<string, ValueFamily | HistogramFamily>();

  counter(name: string, help: string): ValueFamily {
    if (!name.endsWith('_total')) throw new MetricsError(`counter ${name} must end in _total`);
    return this.register(new ValueFamily(name, help, 'counter'));
  }

  gauge(name: string, help: string): ValueFamily {
    return this.register(new ValueFamily(name, help, 'gauge'));
  }

  histogram(name: string, help: string): HistogramFamily {
    return this.register(new HistogramFamily(name, help));
  }

  render(): string {
    const lines: string[] = [];
    for (const family of this.families.values()) family.render(lines);
    return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  }

  private register<F extends ValueFamily | HistogramFamily>(family: F): F {
    if (!METRIC_NAME.test(family.name)) throw new MetricsError(`invalid metric name '${family.name}'`);
    if (this.families.has(family.name)) throw new MetricsError(`metric ${family.name} is registered twice`);
    this.families.set(family.name, family);
    return family;
  }
}
