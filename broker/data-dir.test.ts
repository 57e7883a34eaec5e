// Method: prepares data directories in a temp dir (missing, nested, a file, under a file, already
// there) and checks what exists afterwards and the one-line error each bad one gives.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirError, prepareDataDir } from './data-dir.js';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-data-dir-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe('prepareDataDir', () => {
  it('creates a missing directory and its parents, and leaves no probe file behind', () => {
    const dir = path.join(root, 'a', 'b', 'c');
    prepareDataDir(dir);
    expect(fs.statSync(dir).isDirectory()).toBe(true);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('keeps an existing directory and what is in it', () => {
    fs.writeFileSync(path.join(root, 'topics.json'), '{}');
    prepareDataDir(root);
    expect(fs.readdirSync(root)).toEqual(['topics.json']);
  });

  it('refuses a file, naming it', () => {
    const file = path.join(root, 'file');
    fs.writeFileSync(file, 'x');
    expect(() => prepareDataDir(file)).toThrow(new DataDirError(file, 'is not a directory'));
  });

  it('refuses a path under a file, naming the file', () => {
    const file = path.join(root, 'file');
    fs.writeFileSync(file, 'x');
    const dir = path.join(file, 'sub', 'dir');
    expect(() => prepareDataDir(dir)).toThrow(`data directory ${dir} cannot be created: ${file} is not a directory`);
    expect(fs.readFileSync(file, 'utf8')).toBe('x');
  });
});
