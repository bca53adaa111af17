/**
 * Keeps the layers of docs/architecture.md true: every import in src/ points
 * down the stack, only src/core/ loads the addon, the runtime imports of the
 * repository's TypeScript form no cycle, an example imports nothing but the
 * package's own name and Node's modules, and bench/ and test/ do not import
 * each other. Run by `npm test` (after the build) as
 * `node dist/scripts/check-layers.js [root]`; exits 1 and names every
 * offending import.
 *
 * This file depends on nothing of the package, so that it can judge it.
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's name: examples import it, and it stands for src/index.ts. */
const PACKAGE = 'linux-aio';
const ROOT_MODULE = 'src/index.ts';

/**
 * What each part of the repository may import (besides itself). A folder of
 * src/ is a layer; `root` is src/index.ts, the public package.
 */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  util: [],
  core: ['util'],
  lowlevel: ['core', 'util'],
  engine: ['lowlevel', 'core', 'util'],
  file: ['engine', 'lowlevel', 'core', 'util'],
  root: ['file', 'engine', 'lowlevel', 'core', 'util'],
  sysinfo: ['lowlevel', 'core', 'util'],
  bench: ['root', 'file', 'engine', 'lowlevel', 'core', 'sysinfo', 'util'],
  cli: ['bench', 'root', 'file', 'engine', 'lowlevel', 'core', 'sysinfo', 'util', 'examples'],
  examples: ['root'],
  'bench/': ['src', 'bench/'],
  test: ['src', 'examples', 'test', 'scripts'],
  scripts: [],
};

const SRC_LAYERS = new Set(['util', 'core', 'lowlevel', 'engine', 'file', 'sysinfo', 'bench', 'cli']);

/** The part of the repository a file (a path relative to the root, with `/`) belongs to, or null. */
export function partOf(file: string): string | null {
  if (file === ROOT_MODULE) return 'root';
  const [top, second] = file.split('/');
  if (top === 'src') return second !== undefined && SRC_LAYERS.has(second) ? second : null;
  if (top === 'bench') return 'bench/';
  if (top === 'examples' || top === 'test' || top === 'scripts') return top;
  return null;
}

function allowed(from: string, to: string): boolean {
  if (from === to) return true;
  const list = ALLOWED[from] ?? [];
  if (list.includes(to)) return true;
  // `src` in a list: any part of src/.
  return list.includes('src') && (to === 'root' || SRC_LAYERS.has(to));
}

/** One import statement found in a file. */
export interface ImportRef {
  /** What was written: `'../core/errors.js'`, `'node:fs'`, `'linux-aio'`. */
  specifier: string;
  /** `import type` / `export type`: no module is loaded at run time. */
  typeOnly: boolean;
}

const IMPORT_RE = /(?:^|[\s;])(import|export)(\s+type)?\s+(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/g;
const DYNAMIC_RE = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The imports of a TypeScript source: static, re-exports and dynamic `import('...')` with a literal. */
export function importsOf(source: string): ImportRef[] {
  // Comments may mention imports; strings may too, but not in this shape.
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out: ImportRef[] = [];
  for (const m of code.matchAll(IMPORT_RE)) out.push({ specifier: m[3]!, typeOnly: m[2] !== undefined });
  for (const m of code.matchAll(DYNAMIC_RE)) out.push({ specifier: m[1]!, typeOnly: false });
  return out;
}

/** The repository file an import names (`.js` written for `.ts`), or null for a package or a Node module. */
export function resolveImport(from: string, specifier: string): string | null {
  if (specifier === PACKAGE) return ROOT_MODULE;
  if (!specifier.startsWith('.')) return null;
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  return joined.replace(/\.js$/, '.ts').replace(/\.mjs$/, '.mts');
}

/**
 * Every violation among `files` (path relative to the root → source text),
 * one line each: `src/core/x.ts: imports ../file/y.js (core may not import file)`.
 */
export function checkLayers(files: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  const graph = new Map<string, string[]>();
  for (const [file, source] of files) {
    const from = partOf(file);
    const edges: string[] = [];
    graph.set(file, edges);
    for (const ref of importsOf(source)) {
      const spec = ref.specifier;
      const target = resolveImport(file, spec);
      if (from === 'examples' && spec !== PACKAGE && !spec.startsWith('node:')) {
        problems.push(`${file}: imports ${spec} (an example imports only '${PACKAGE}' and node: modules)`);
        continue;
      }
      if (target === null) continue;
      if (!ref.typeOnly) edges.push(target);
      const to = partOf(target);
      if (from === null || to === null) continue;
      if (target === 'src/core/native.ts' && from !== 'core' && from !== 'test') {
        problems.push(`${file}: imports ${spec} (only src/core/ loads the addon)`);
      } else if (!allowed(from, to)) {
        problems.push(`${file}: imports ${spec} (${from} may not import ${to})`);
      }
    }
  }
  for (const cycle of cyclesOf(graph)) problems.push(`import cycle: ${cycle.join(' → ')}`);
  return problems;
}

/** The cycles of a directed graph, each once, as the path round it (first node repeated at the end). */
export function cyclesOf(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      const s = state.get(next);
      if (s === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

/** The TypeScript sources under `root` that the check reads (src, examples, bench, test, scripts). */
export function readSources(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (rel: string): void => {
    const abs = path.join(root, rel);
    for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else if (/\.m?ts$/.test(entry.name) && !entry.name.endsWith('.d.ts')) files.set(child, fs.readFileSync(path.join(root, child), 'utf8'));
    }
  };
  for (const top of ['src', 'examples', 'bench', 'test', 'scripts']) {
    if (fs.existsSync(path.join(root, top))) walk(top);
  }
  return files;
}

function isMain(): boolean {
  return process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
}

if (isMain()) {
  // dist/scripts/ → the repository, unless a root is given.
  const root = path.resolve(process.argv[2] ?? fileURLToPath(new URL('../..', import.meta.url)));
  const files = readSources(root);
  const problems = checkLayers(files);
  for (const p of problems) console.error(`check-layers: ${p}`);
  if (problems.length > 0) process.exitCode = 1;
  else console.log(`check-layers: ${files.size} files, every import points down the layers, no cycle`);
}
