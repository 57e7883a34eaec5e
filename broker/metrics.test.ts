// Method: renders registries built from examples and from fast-check's random observations, and
// reads the text back with an independent line parser (escapes, cumulative buckets, +Inf = count).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeLabelValue, formatValue, Histogram, MetricsError, MetricsRegistry } from './metrics.js';

function unescape(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

describe('exposition format', () => {
  it('writes HELP, TYPE and samples of counters and gauges', () => {
    const registry = new MetricsRegistry();
    registry.counter('x_requests_total', 'Requests.\nTwo lines \\ one backslash.').set({ api: 'Produce' }, 3).set({ api: 'Fetch' }, 0);
    registry.gauge('x_open', 'Open now.').set({}, 2);
    expect(registry.render()).toBe(
      [
        '# HELP x_requests_total Requests.\\nTwo lines \\\\ one backslash.',
        '# TYPE x_requests_total counter',
        'x_requests_total{api="Produce"} 3',
        'x_requests_total{api="Fetch"} 0',
        '# HELP x_open Open now.',
        '# TYPE x_open gauge',
        'x_open 2',
        '',
      ].join('\n'),
    );
  });

  it('escapes label values so that any string reads back unchanged', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (value) => {
        const registry = new MetricsRegistry();
        registry.gauge('g', 'h').set({ topic: value, partition: 1 }, 1);
        const line = registry.render().split('\n')[2] as string;
        const match = /^g\{topic="((?:[^"\\\n]|\\[\\"n])*)",partition="1"\} 1$/.exec(line);
        expect(match).not.toBeNull();
        expect(unescape((match as RegExpExecArray)[1] as string)).toBe(value);
      }),
    );
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  });

  it('formats special values as Prometheus reads them', () => {
    expect([Infinity, -Infinity, NaN, 0.0005, 12].map(formatValue)).toEqual(['+Inf', '-Inf', 'NaN', '0.0005', '12']);
  });

  it('treats the same labels in another order as one series', () => {
    const registry = new MetricsRegistry();
    registry.gauge('g', 'h').set({ a: 1, b: 2 }, 1).set({ b: 2, a: 1 }, 5);
    expect(registry.render().split('\n').filter((l) => l.startsWith('g{'))).toEqual(['g{b="2",a="1"} 5']);
  });

  it('rejects bad names, duplicate families, counters not ending in _total, negative counters and le on histograms', () => {
    const registry = new MetricsRegistry();
    expect(() => registry.gauge('9lives', 'h')).toThrow(MetricsError);
    expect(() => registry.counter('requests', 'h')).toThrow(/_total/);
    registry.gauge('g', 'h');
    expect(() => registry.gauge('g', 'h')).toThrow(/twice/);
    expect(() => registry.gauge('g2', 'h').set({ 'bad-label': 'x' }, 1)).toThrow(/label name/);
    expect(() => registry.gauge('g3', 'h').set({ __reserved: 'x' }, 1)).toThrow(/label name/);
    expect(() => registry.counter('c_total', 'h').set({}, -1)).toThrow(MetricsError);
    expect(() => registry.histogram('hist', 'h').set({ le: '1' }, new Histogram([1]).snapshot())).toThrow(/reserved/);
    expect(() => new Histogram([1, 1])).toThrow(/strictly/);
    expect(() => new Histogram([1, Infinity])).toThrow(/finite/);
  });
});

describe('Histogram', () => {
  it('renders cumulative buckets whose counts are the observations at or below each bound, ending with +Inf = _count', () => {
    const bounds = [0.001, 0.01, 0.1, 1];
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 5, noNaN: true }), { maxLength: 200 }), (values) => {
        const histogram = new Histogram(bounds);
        for (const v of values) histogram.observe(v);
        const registry = new MetricsRegistry();
        registry.histogram('lat_seconds', 'h').set({ api: 'Fetch' }, histogram.snapshot());
        const lines = registry.render().split('\n');
        const buckets = lines.filter((l) => l.startsWith('lat_seconds_bucket'));
        expect(buckets).toHaveLength(bounds.length + 1);
        bounds.forEach((bound, i) => {
          expect(buckets[i]).toBe(`lat_seconds_bucket{api="Fetch",le="${bound}"} ${values.filter((v) => v <= bound).length}`);
        });
        expect(buckets.at(-1)).toBe(`lat_seconds_bucket{api="Fetch",le="+Inf"} ${values.length}`);
        expect(lines).toContain(`lat_seconds_count{api="Fetch"} ${values.length}`);
        const sum = Number(lines.find((l) => l.startsWith('lat_seconds_sum'))?.split(' ')[1]);
        expect(sum).toBeCloseTo(values.reduce((a, b) => a + b, 0), 6);
      }),
    );
  });
});
