// Method: the registry checked by name — each entry is the assignor its name says, the default is
// registered, and `isAssignorName` accepts exactly the registered names.
import { describe, expect, it } from 'vitest';
import { ASSIGNORS, DEFAULT_ASSIGNOR, isAssignorName } from './assignor.js';
import { assignRange } from './range-assignor.js';
import { assignSticky } from './sticky-assignor.js';

describe('ASSIGNORS', () => {
  it('maps each name to its assignor and registers the default', () => {
    expect(ASSIGNORS.range).toBe(assignRange);
    expect(ASSIGNORS.sticky).toBe(assignSticky);
    expect(DEFAULT_ASSIGNOR).toBe('sticky');
    expect(Object.isFrozen(ASSIGNORS)).toBe(true);
  });

  it('recognises exactly the registered names', () => {
    for (const name of Object.keys(ASSIGNORS)) expect(isAssignorName(name)).toBe(true);
    for (const name of ['', 'uniform', 'Range', 'toString', '__proto__']) expect(isAssignorName(name)).toBe(false);
  });
});
