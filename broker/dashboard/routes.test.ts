// Method: `dashboardAssetsDir` is asked where the page's files are for this module's own URL, for
// where the compiled module sits under dist/, and for a place with no files at all.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dashboardAssetsDir } from './routes.js';

const assets = path.resolve(import.meta.dirname, 'assets');
const packageRoot = path.resolve(import.meta.dirname, '..', '..');

describe('dashboardAssetsDir', () => {
  it('finds the files beside the source and from dist/broker/dashboard/', () => {
    expect(dashboardAssetsDir(pathToFileURL(path.join(import.meta.dirname, 'routes.ts')).href)).toBe(assets);
    expect(dashboardAssetsDir(pathToFileURL(path.join(packageRoot, 'dist', 'broker', 'dashboard', 'routes.js')).href)).toBe(assets);
  });

  it('names where it looked when the files are missing', () => {
    expect(() => dashboardAssetsDir(pathToFileURL('/nowhere/a/b/c/routes.js').href)).toThrow(/the dashboard's files are missing: looked in \/nowhere\/a\/b\/c\/assets and \/nowhere\/broker\/dashboard\/assets/);
  });
});
