// Method: a fast-check model test drives a pool with random touches, reads starting and ending, and
// removals, and checks after every step the pool's promises: idle members beyond the bound are
// closed least recently used first, a busy member or the one just touched is never closed, and every
// member closed was open.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DescriptorPool, type PooledFile } from './descriptor-pool.js';

class FakeFile implements PooledFile {
  open = false;
  readers = 0;
  closes = 0;

  get busy(): boolean {
    return this.readers > 0;
  }

  closeDescriptor(): void {
    expect(this.open, 'closed a descriptor that was not open').toBe(true);
    expect(this.busy, 'closed a descriptor a read holds').toBe(false);
    this.open = false;
    this.closes += 1;
  }
}

type Step =
  | { kind: 'touch'; file: number }
  | { kind: 'readStart'; file: number }
  | { kind: 'readEnd'; file: number }
  | { kind: 'remove'; file: number };

describe('DescriptorPool', () => {
  it('closes idle descriptors beyond its bound, least recently used first, never a busy one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(
          fc.record({ kind: fc.constantFrom('touch', 'readStart', 'readEnd', 'remove'), file: fc.integer({ min: 0, max: 9 }) }) as fc.Arbitrary<Step>,
          { maxLength: 200 },
        ),
        (maxOpen, steps) => {
          const pool = new DescriptorPool(maxOpen);
          const files = Array.from({ length: 10 }, () => new FakeFile());
          /** Open files, least recently used first: the model. */
          let order: FakeFile[] = [];
          const trimModel = (keep?: FakeFile): void => {
            for (const file of [...order]) {
              if (order.length <= maxOpen) break;
              if (file === keep || file.busy) continue;
              order = order.filter((f) => f !== file);
            }
          };
          for (const step of steps) {
            const file = files[step.file] as FakeFile;
            if (step.kind === 'touch' || step.kind === 'readStart') {
              // As a segment does: open if needed, mark busy for a read, then touch.
              file.open = true;
              if (step.kind === 'readStart') file.readers += 1;
              order = [...order.filter((f) => f !== file), file];
              pool.touch(file);
              trimModel(file);
              expect(file.open).toBe(true);
            } else if (step.kind === 'readEnd') {
              if (file.readers === 0) continue;
              file.readers -= 1;
              if (file.readers === 0) {
                pool.trim();
                trimModel();
              }
            } else {
              if (file.busy || !file.open) continue;
              file.open = false;
              order = order.filter((f) => f !== file);
              pool.remove(file);
            }
            expect(files.filter((f) => f.open)).toEqual(expect.arrayContaining(order));
            expect(files.filter((f) => f.open).length).toBe(order.length);
            expect(pool.size).toBe(order.length);
            const idle = order.filter((f) => !f.busy).length;
            expect(order.length <= maxOpen || idle <= 1).toBe(true);
          }
        },
      ),
    );
  });

  it('refuses a bound below one', () => {
    expect(() => new DescriptorPool(0)).toThrow(/at least one/);
  });
});
