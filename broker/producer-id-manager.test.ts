// Method: the id manager over a temp dir: ids carry the node id in their low bits, never repeat
// across restarts (a block is reserved on disk before use), and a damaged file stops the broker
// instead of restarting the counter.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PRODUCER_ID_FILE, PRODUCER_ID_NODE_SPAN, ProducerIdManager } from './producer-id-manager.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-pid-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('ProducerIdManager', () => {
  it('hands out ids unique across nodes and restarts, reserving a block on disk first', () => {
    const seen = new Set<number>();
    for (const nodeId of [1, 2, 3]) {
      const dir = tempDir();
      for (let restart = 0; restart < 3; restart++) {
        const manager = new ProducerIdManager(dir, nodeId);
        for (let i = 0; i < 1500; i++) {
          const id = manager.nextProducerId();
          expect(id % PRODUCER_ID_NODE_SPAN).toBe(nodeId);
          expect(seen.has(id)).toBe(false);
          seen.add(id);
          // The file always says a counter past every id handed out.
          const next = (JSON.parse(fs.readFileSync(path.join(dir, PRODUCER_ID_FILE), 'utf8')) as { nextCounter: number }).nextCounter;
          expect(next * PRODUCER_ID_NODE_SPAN).toBeGreaterThan(id);
        }
      }
    }
  });

  it('refuses to start over a damaged file', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, PRODUCER_ID_FILE), '{"nextCounter": -5}');
    expect(() => new ProducerIdManager(dir, 1)).toThrow(/damaged/);
  });
});
