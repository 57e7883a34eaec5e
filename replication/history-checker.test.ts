// Method: each finding is produced from a small hand-made history, and a fast-check property checks
// that a faithful log (every ok write at its offset, each value once) is always judged clean while
// dropping or moving any acknowledged record is always reported as lost.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkExactlyOnce, describeExactlyOnce, describeVerdict, exactlyOnceHeld, WriteHistory, type ReadRecord } from './history-checker.js';

describe('history checker', () => {
  it('judges a faithful history clean', () => {
    const h = new WriteHistory();
    h.invoke('a', 0, 'w1');
    h.invoke('b', 0, 'w1');
    h.ok('a', 0);
    h.ok('b', 1);
    const v = h.check([
      { partition: 0, offset: 0, value: 'a' },
      { partition: 0, offset: 1, value: 'b' },
    ]);
    expect(v).toMatchObject({ ok: 2, lost: [], duplicated: [], unexpected: [], reordered: [] });
  });

  it('reports an acknowledged write missing from its offset as lost', () => {
    const h = new WriteHistory();
    h.invoke('a', 0, 'w1');
    h.ok('a', 0);
    h.invoke('b', 0, 'w1');
    h.ok('b', 1);
    const v = h.check([{ partition: 0, offset: 0, value: 'a' }]);
    expect(v.lost).toEqual([{ value: 'b', partition: 0, offset: 1, found: undefined }]);
    expect(describeVerdict(v)).toContain('LOST 1');
  });

  it('reports another value at the acknowledged offset as lost', () => {
    const h = new WriteHistory();
    h.invoke('a', 0, 'w1');
    h.ok('a', 0);
    h.invoke('x', 0, 'w2');
    h.unknown('x');
    const v = h.check([{ partition: 0, offset: 0, value: 'x' }]);
    expect(v.lost).toEqual([{ value: 'a', partition: 0, offset: 0, found: 'x' }]);
    expect(v.recovered).toBe(1);
  });

  it('reports duplicates, unexpected values and failed writes that appear', () => {
    const h = new WriteHistory();
    h.invoke('a', 0, 'w1');
    h.ok('a', 0);
    h.invoke('f', 0, 'w1');
    h.failed('f');
    const v = h.check([
      { partition: 0, offset: 0, value: 'a' },
      { partition: 0, offset: 1, value: 'a' },
      { partition: 0, offset: 2, value: 'f' },
      { partition: 0, offset: 3, value: 'ghost' },
    ]);
    expect(v.duplicated).toEqual([{ value: 'a', offsets: ['0:0', '0:1'] }]);
    expect(v.unexpected.map((r) => r.value)).toEqual(['f', 'ghost']);
  });

  it('reports a writer whose acknowledged writes go backwards in one partition', () => {
    const h = new WriteHistory();
    h.invoke('a', 0, 'w1');
    h.invoke('b', 0, 'w1');
    h.ok('b', 0);
    h.ok('a', 1);
    const v = h.check([
      { partition: 0, offset: 1, value: 'a' },
      { partition: 0, offset: 0, value: 'b' },
    ]);
    expect(v.reordered).toHaveLength(1);
  });

  it('refuses a value invoked twice or completed twice', () => {
    const h = new WriteHistory();
    h.invoke('a', 0, 'w1');
    expect(() => h.invoke('a', 0, 'w1')).toThrow(/invoked twice/);
    h.ok('a', 0);
    expect(() => h.failed('a')).toThrow(/completed twice/);
    expect(() => h.ok('zzz', 1)).toThrow(/never invoked/);
  });

  it('finds every dropped acknowledged record, and nothing in a faithful log', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 3 }), fc.nat(), (n, partitions, drop) => {
        const h = new WriteHistory();
        const next = new Array<number>(partitions).fill(0);
        const reads = [];
        for (let i = 0; i < n; i++) {
          const p = i % partitions;
          const value = `v${i}`;
          h.invoke(value, p, `w${i % 2}`);
          const offset = next[p] as number;
          next[p] = offset + 1;
          h.ok(value, offset);
          reads.push({ partition: p, offset, value });
        }
        const clean = h.check(reads);
        expect(clean.lost.length + clean.duplicated.length + clean.unexpected.length + clean.reordered.length).toBe(0);
        const dropped = reads.filter((_, i) => i !== drop % reads.length);
        const judged = h.check(dropped);
        expect(judged.lost).toHaveLength(1);
      }),
    );
  });
});

describe('exactly-once checker', () => {
  const out = (v: string) => `out:${v}`;
  const inputOf = (value: string) => (value.startsWith('out:') ? value.slice(4) : undefined);
  const inputs: ReadRecord[] = [
    { partition: 0, offset: 0, value: 'a' },
    { partition: 0, offset: 2, value: 'b' },
    { partition: 1, offset: 0, value: 'c' },
  ];

  it('judges a faithful pipeline clean, whatever output partition and offset each record took', () => {
    const v = checkExactlyOnce(inputs, [
      { partition: 1, offset: 5, value: out('a') },
      { partition: 0, offset: 3, value: out('c') },
      { partition: 1, offset: 9, value: out('b') },
    ], inputOf);
    expect(exactlyOnceHeld(v)).toBe(true);
    expect(v).toMatchObject({ inputs: 3, outputs: 3 });
  });

  it('reports each kind of failure', () => {
    const v = checkExactlyOnce(inputs, [
      { partition: 0, offset: 0, value: out('b') },
      { partition: 0, offset: 1, value: out('a') },
      { partition: 0, offset: 2, value: out('b') },
      { partition: 0, offset: 3, value: out('zz') },
      { partition: 0, offset: 4, value: 'garbage' },
    ], inputOf);
    expect(exactlyOnceHeld(v)).toBe(false);
    expect(v.missing.map((r) => r.value)).toEqual(['c']);
    expect(v.duplicated).toEqual([{ value: 'b', outputs: ['0:0', '0:2'] }]);
    expect(v.unexpected.map((r) => r.value)).toEqual([out('zz'), 'garbage']);
    expect(v.reordered).toEqual([{ inputPartition: 0, value: 'a', inputOffset: 0, previousInputOffset: 2 }]);
    expect(describeExactlyOnce(v)).toMatch(/MISSING 1.*DUPLICATED 1.*UNEXPECTED 2.*REORDERED 1/);
  });

  it('holds for any faithful pipeline and catches any dropped or doubled output', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 40 }), fc.nat(), fc.boolean(), (partitions, pick, drop) => {
        const next = [0, 0, 0];
        const ins = partitions.map((partition, i) => ({ partition, offset: next[partition]!++, value: `v${i}` }));
        // Outputs keep each input partition's order; they go to the output partition of the same number.
        const outs = ins.map((input, i) => ({ partition: input.partition, offset: i, value: out(input.value) }));
        expect(exactlyOnceHeld(checkExactlyOnce(ins, outs, inputOf))).toBe(true);
        const victim = pick % outs.length;
        const broken = drop ? outs.filter((_, i) => i !== victim) : [...outs, { ...outs[victim]!, offset: outs.length }];
        const v = checkExactlyOnce(ins, broken, inputOf);
        expect(drop ? v.missing.length : v.duplicated.length).toBe(1);
      }),
    );
  });
});
