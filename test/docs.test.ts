/**
 * The docs run as written. Every ```js block of the README and docs/ runs as
 * its own program (an ES module, or CommonJS when it uses require and no
 * import), importing 'linux-aio' as a user would (this checkout, built),
 * in a fresh folder holding data.bin, a 1 MiB scratch file on a file system
 * that takes O_DIRECT; it must exit 0 within 20 s, and print what the
 * comments on its console.log lines say it prints. Every ```ts block is
 * type-checked by tsc against the built package (strict, module nodenext).
 * docs/api.md documents every export of the package root under its own
 * heading, with an example that calls every public method and reads every
 * getter.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import ts from 'typescript';
import * as root from '../src/index.js';
import { diskDir } from './helpers/disk.js';
import { ROOT, codeBlocks, docFiles, type CodeBlock } from './helpers/markdown.js';
import { run } from './helpers/npm.js';

const JS = new Set(['js', 'javascript', 'mjs', 'cjs']);
const TS = new Set(['ts', 'typescript', 'mts', 'cts']);
const blocks = docFiles().flatMap(codeBlocks);
const where = (b: CodeBlock): string => `${b.file}:${b.line} (\`\`\`${b.lang} under "${b.heading}")`;
const { dir: disk, skip: noDisk } = diskDir();

let work = '';
before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'linux-aio-docs-'));
  // Programs in work/ resolve 'linux-aio' to this checkout, as an installed package would.
  fs.mkdirSync(path.join(work, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(work, 'node_modules', 'linux-aio'));
});
after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** A relative import in a block means the repository's own file: its built form in dist/. */
function resolveRepoImports(code: string): string {
  return code.replace(/(from\s+|require\(|import\()'\.\/([^']+)'/g, (_m, lead: string, rel: string) =>
    `${lead}'${path.join(ROOT, 'dist', rel)}'`);
}

function isCommonJs(b: CodeBlock): boolean {
  return b.lang === 'cjs' || (/\brequire\(/.test(b.code) && !/^\s*import\s/m.test(b.code));
}

function runBlock(script: string, cwd: string): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out });
    });
  });
}

/**
 * A trailing comment on a console.log line states what it prints: those lines
 * must appear in the output, in order (other output may come between them).
 */
function checkStatedOutput(b: CodeBlock, out: string): void {
  const printed = out.split('\n').map((l) => l.trimEnd());
  let at = 0;
  for (const [n, line] of b.code.split('\n').entries()) {
    const m = /^\s*console\.log\(.*\);\s*\/\/\s?(.*)$/.exec(line);
    if (!m) continue;
    const stated = m[1]!.trim();
    const found = printed.indexOf(stated, at);
    assert.ok(found >= 0,
      `${b.file}:${b.line + n + 1} says it prints "${stated}", but the block printed:\n${out}` +
      '(A trailing comment on a console.log line states its output exactly; put remarks on the line above.)');
    at = found + 1;
  }
}

test('the README and docs/ have JavaScript and TypeScript blocks to check', () => {
  assert.ok(blocks.some((b) => JS.has(b.lang)), 'no ```js block found: is the extraction broken?');
  assert.ok(blocks.some((b) => TS.has(b.lang)), 'no ```ts block found: is the extraction broken?');
  assert.ok(docFiles().includes('docs/api.md'));
});

for (const [i, b] of blocks.entries()) {
  if (!JS.has(b.lang)) continue;
  test(`runs: ${where(b)}`, { skip: noDisk }, async () => {
    const cwd = fs.mkdtempSync(path.join(disk!, 'docs-'));
    try {
      const data = Buffer.alloc(1 << 20);
      for (let j = 0; j < data.length; j++) data[j] = (j * 7 + (j >> 12)) & 0xff;
      fs.writeFileSync(path.join(cwd, 'data.bin'), data);
      const script = path.join(work, `block-${i}.${isCommonJs(b) ? 'cjs' : 'mjs'}`);
      fs.writeFileSync(script, resolveRepoImports(b.code));
      const r = await runBlock(script, cwd);
      assert.ok(r.code === 0,
        `${where(b)} failed (${r.signal ? `killed by ${r.signal} after 20 s` : `exit ${r.code}`}). ` +
        'Every ```js block runs as its own program on Node 20, in a folder holding data.bin (1 MiB); ' +
        'mark TypeScript or Node 24 syntax (`using`, types) as ```ts and output as a bare ``` fence.\n' +
        `--- output\n${r.out}`);
      checkStatedOutput(b, r.out);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });
}

test('every ```ts block type-checks against the built package', () => {
  const ts = blocks.filter((b) => TS.has(b.lang));
  const dir = path.join(work, 'ts');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  const names = ts.map((b, i) => {
    const name = `block-${i}.${b.lang === 'cts' ? 'cts' : 'mts'}`;
    // A block with no import or export is still a module of its own (its names do not clash).
    const code = resolveRepoImports(b.code);
    fs.writeFileSync(path.join(dir, name), /^\s*(import|export)\s/m.test(code) ? code : `${code}\nexport {};\n`);
    return name;
  });
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2022', 'esnext.disposable'],
      strict: true, noEmit: true, skipLibCheck: true,
      typeRoots: [path.join(ROOT, 'node_modules', '@types')], types: ['node'],
    },
    files: names,
  }));
  const r = run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir, '--pretty', 'false'],
    { cwd: dir, check: false });
  // Name each error by the Markdown line it comes from.
  const report = (r.stdout + r.stderr).replace(/block-(\d+)\.[mc]ts\((\d+),(\d+)\)/g, (_m, n: string, line: string) => {
    const b = ts[Number(n)]!;
    return `${b.file}:${b.line + Number(line)} (\`\`\`${b.lang} under "${b.heading}")`;
  });
  assert.equal(r.status, 0, `TypeScript blocks do not type-check against the built package:\n${report}`);
});

/** The names the package root exports, values and types, from src/index.ts. */
function rootExports(): string[] {
  const src = fs.readFileSync(path.join(ROOT, 'src', 'index.ts'), 'utf8');
  assert.doesNotMatch(src, /export\s+\*/, 'src/index.ts re-exports with `export *`: list the names, so docs/api.md can be checked');
  const names = new Set<string>();
  for (const m of src.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const part of m[1]!.split(',')) {
      const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop()!.trim();
      if (name) names.add(name);
    }
  }
  for (const k of Object.keys(root)) assert.ok(names.has(k), `${k} is exported but not listed in src/index.ts's braces`);
  return [...names].sort();
}

interface Section { level: number; text: string; code: string }

/** docs/api.md's headings, each with its text and the code of the blocks under it (until the next heading of its level or above). */
function apiSections(): Map<string, Section> {
  const lines = fs.readFileSync(path.join(ROOT, 'docs', 'api.md'), 'utf8').split('\n');
  const headings = lines.flatMap((l, i) => {
    const m = /^(#{1,6})\s+`?([A-Za-z_$][\w$]*)`?\s*$/.exec(l);
    return m ? [{ level: m[1]!.length, name: m[2]!, line: i + 1 }] : [];
  });
  const code = codeBlocks('docs/api.md').filter((b) => JS.has(b.lang) || TS.has(b.lang));
  const sections = new Map<string, Section>();
  for (const [i, h] of headings.entries()) {
    const end = headings.slice(i + 1).find((n) => n.level <= h.level)?.line ?? Infinity;
    sections.set(h.name, {
      level: h.level,
      text: lines.slice(h.line, end - 1).join('\n'),
      code: code.filter((b) => b.line > h.line && b.line < end).map((b) => b.code).join('\n'),
    });
  }
  return sections;
}

test('docs/api.md has a heading for every export of the package root', () => {
  const sections = apiSections();
  const missing = rootExports().filter((name) => !sections.has(name));
  assert.deepEqual(missing, [],
    `docs/api.md has no heading for: ${missing.join(', ')}. Add "## Name" (or "### Name" under "## Types") with what it does.`);
});

test('docs/api.md: every function is called, and every public method and getter used, in an example under its heading', () => {
  const sections = apiSections();
  const gaps: string[] = [];
  for (const [name, value] of Object.entries(root)) {
    const code = sections.get(name)?.code ?? '';
    if (code === '') {
      gaps.push(`${name}: no example under its heading`);
      continue;
    }
    const isClass = typeof value === 'function' && /^class\b/.test(Function.prototype.toString.call(value));
    if (typeof value === 'function' && !isClass) {
      if (!new RegExp(`\\b${name}\\(`).test(code)) gaps.push(`${name}(): never called in its examples`);
      continue;
    }
    if (!isClass) {
      if (!new RegExp(`\\b${name}\\b`).test(code)) gaps.push(`${name}: never used in its examples`);
      continue;
    }
    const members = [
      ...Object.getOwnPropertyNames(value.prototype).filter((m) => m !== 'constructor'),
      ...Object.getOwnPropertyNames(value).filter((m) => !['length', 'name', 'prototype'].includes(m)),
    ].filter((m) => !m.startsWith('_'));
    for (const m of members) {
      if (!new RegExp(`\\.${m.replace(/\$/g, '\\$')}\\b`).test(code)) gaps.push(`${name}.${m}: never used in the examples under "## ${name}"`);
    }
  }
  assert.deepEqual(gaps, [], `docs/api.md lacks examples:\n  ${gaps.join('\n  ')}`);
});

/** The properties of every interface the package root exports, from the built declarations. */
function interfaceMembers(): Map<string, string[]> {
  const entry = path.join(ROOT, 'dist', 'src', 'index.d.ts');
  const program = ts.createProgram([entry], { skipLibCheck: true, noEmit: true, types: [] });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  const out = new Map<string, string[]>();
  for (const sym of checker.getExportsOfModule(module)) {
    const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
    if (!(target.flags & ts.SymbolFlags.Interface)) continue;
    out.set(sym.name, checker.getDeclaredTypeOfSymbol(target).getProperties().map((p) => p.name));
  }
  return out;
}

test('docs/api.md names every field of every exported interface under its heading', () => {
  const sections = apiSections();
  const members = interfaceMembers();
  assert.ok(members.size > 0, 'no exported interface found in dist/src/index.d.ts');
  const gaps: string[] = [];
  for (const [name, fields] of members) {
    const text = sections.get(name)?.text ?? '';
    for (const f of fields) if (!new RegExp(`\\b${f}\\b`).test(text)) gaps.push(`${name}.${f}`);
  }
  assert.deepEqual(gaps, [], `docs/api.md does not name these fields under their type's heading: ${gaps.join(', ')}`);
});
