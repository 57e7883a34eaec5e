// Method: runs the TypeScript compiler over the whole repository (tests and benchmarks included) with
// the strict settings of tsconfig.json; vitest itself strips types without checking them.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';

it('type-checks with tsc --noEmit', () => {
  const root = path.resolve(import.meta.dirname, '..');
  const tsc = path.join(root, 'node_modules', '.bin', 'tsc');
  let output = '';
  try {
    execFileSync(tsc, ['--noEmit', '-p', path.join(root, 'tsconfig.json')], { cwd: root, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    output = String((error as { stdout?: string }).stdout ?? error);
  }
  expect(output).toBe('');
});
