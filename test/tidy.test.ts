// Method: reads every TypeScript file's import lines and checks the layout rules of ARCHITECTURE.md — the
// one-way dependency graph between top-level folders, `index.ts` as each folder's only entry point,
// kebab-case file names, and no `enum` or `namespace`.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const FOLDERS = ['log', 'replication', 'broker', 'client', 'test', 'bench'] as const;
type Folder = (typeof FOLDERS)[number];

/** Which folders each folder may import from (besides itself). */
const ALLOWED: Readonly<Record<Folder, readonly Folder[]>> = {
  log: [],
  replication: ['log'],
  client: ['log'],
  broker: ['log', 'replication', 'client'],
  test: ['log', 'replication', 'client', 'broker'],
  bench: ['log', 'replication', 'client', 'broker'],
};

function sourceFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1] as string);
}

const files = FOLDERS.flatMap((folder) => sourceFiles(path.join(root, folder)).map((file) => ({ folder, file })));

describe('codebase layout', () => {
  it('finds the source files', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it('keeps dependencies pointing one way, through each folder index.ts', () => {
    const problems: string[] = [];
    for (const { folder, file } of files) {
      for (const spec of importsOf(file)) {
        if (!spec.startsWith('.')) continue;
        const target = path.relative(root, path.resolve(path.dirname(file), spec));
        const targetFolder = target.split(path.sep)[0] as Folder;
        if (targetFolder === folder) continue;
        // Any test may use the shared test fixtures.
        if (file.endsWith('.test.ts') && target.startsWith(`test${path.sep}fixtures${path.sep}`)) continue;
        const where = `${path.relative(root, file)} imports ${spec}`;
        if (!ALLOWED[folder].includes(targetFolder)) problems.push(`${where}: ${folder}/ may not depend on ${targetFolder}/`);
        // Tests and benchmarks may reach inside a module to measure or break it; product code may not.
        // client/ has two more entry points: its protocol (the broker speaks it) and its CLI (the
        // `strata` command in broker/cli.ts hands client commands to it).
        const entry =
          target === `${targetFolder}${path.sep}index.js` ||
          target === `client${path.sep}protocol${path.sep}index.js` ||
          target === `client${path.sep}cli${path.sep}index.js`;
        if (!entry && folder !== 'test' && folder !== 'bench') problems.push(`${where}: import ${targetFolder}/index.js instead`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('names files in kebab-case after what they hold', () => {
    const bad = files
      .map(({ file }) => path.basename(file))
      .filter((name) => !/^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+)*\.ts$/.test(name) || /^(utils?|helpers?|misc)\./.test(name));
    expect(bad).toEqual([]);
  });

  it('uses no enum or namespace', () => {
    const bad = files.filter(({ file }) => /^\s*(export\s+)?(const\s+)?(enum|namespace)\s+\w+/m.test(fs.readFileSync(file, 'utf8')));
    expect(bad.map(({ file }) => path.relative(root, file))).toEqual([]);
  });

  it('has docs that link only files inside the repository', () => {
    const problems: string[] = [];
    for (const doc of docFiles()) {
      const text = fs.readFileSync(path.join(root, doc), 'utf8');
      if (text.includes('../shared')) problems.push(`${doc}: mentions ../shared, which a clone does not have`);
      for (const match of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        const target = match[1] as string;
        if (/^[a-z]+:/.test(target)) continue;
        const resolved = path.resolve(path.dirname(path.join(root, doc)), target);
        if (!resolved.startsWith(root + path.sep) || !fs.existsSync(resolved)) problems.push(`${doc}: links ${target}, which is not in the repository`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('has shell blocks that run as written: no | meaning "or", no [optional] flags', () => {
    const problems: string[] = [];
    for (const doc of docFiles()) {
      const text = fs.readFileSync(path.join(root, doc), 'utf8');
      for (const block of text.matchAll(/```(?:sh|bash|shell|console)\n([\s\S]*?)```/g)) {
        for (const line of block[1]!.split('\n')) {
          const code = line.trimStart().startsWith('#') ? '' : line.split(/\s#/)[0]!;
          // A pipe has spaces around it; `a|b` (in a comment too) is the synopsis's "or".
          if (/[^\s|]\|[^\s|]/.test(line)) problems.push(`${doc}: '|' meaning "or": ${line.trim()}`);
          if (/\s\[-/.test(code)) problems.push(`${doc}: an [optional] flag a shell would pass as it is: ${line.trim()}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

/** README.md, ARCHITECTURE.md and every Markdown file in the folders. */
function docFiles(): string[] {
  return ['README.md', 'ARCHITECTURE.md', ...FOLDERS.flatMap((folder) => markdownFiles(path.join(root, folder)).map((f) => path.relative(root, f)))];
}

function markdownFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : markdownFiles(full);
    return entry.name.endsWith('.md') ? [full] : [];
  });
}
