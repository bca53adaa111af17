/**
 * The code blocks and links of the project's Markdown files, for the tests
 * that run the docs as written and check what the package ships.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (or package) root: dist/test/helpers/../../.. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface CodeBlock {
  /** Path relative to ROOT, e.g. 'docs/api.md'. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The info string's first word, lower case ('' for a bare fence). */
  lang: string;
  /** The nearest heading above the block. */
  heading: string;
  code: string;
}

/** README.md and every Markdown file under docs/, as paths relative to ROOT. */
export function docFiles(): string[] {
  const docs = fs.readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

/** The fenced code blocks (``` or ~~~) of one Markdown file. */
export function codeBlocks(file: string): CodeBlock[] {
  const lines = fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const h = /^#{1,6}\s+(.*)$/.exec(lines[i]!);
    if (h) heading = h[1]!.trim();
    const open = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[2]!;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j]!.trimStart().startsWith(fence)) body.push(lines[j++]!);
    blocks.push({ file, line: i + 1, lang: open[3]!.toLowerCase(), heading, code: body.join('\n') + '\n' });
    i = j;
  }
  return blocks;
}

/** Relative link targets of one Markdown file (no URLs, no in-page anchors), without their #fragment. */
export function relativeLinks(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8').replace(/```[\s\S]*?```/g, '');
  const out = new Set<string>();
  for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
    out.add(path.posix.normalize(path.posix.join(path.posix.dirname(file), target.split('#')[0]!)));
  }
  return [...out];
}
