#!/usr/bin/env node
/**
 * The `linux-aio` command: dispatches to a subcommand module. Each module
 * exports `main(argv, io?) → Promise<exit code>` (see `CommandModule`); a
 * new subcommand is one line in `commands`.
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../util/package-root.js';
import type { CommandModule } from './io.js';

const commands: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  adder: { summary: 'the Linux AIO guide\'s sample: write, read back and add up integers', load: () => import('./adder.js') },
  bench: { summary: 'IOPS, latency, CPU and syscalls per I/O of AioFile, fs.promises and fio, side by side', load: () => import('./bench.js') },
  info: { summary: 'what this machine allows: kernel, AIO limits, io_uring, O_DIRECT per path', load: () => import('./info.js') },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  const list = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`).join('\n');
  return `Usage: linux-aio <command> [flags]

Commands:
${list}

Run "linux-aio <command> --help" for a command's flags.
`;
}

function version(): string {
  const root = packageRoot(import.meta.url);
  if (root === null) return 'unknown';
  return (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
}

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(usage());
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    process.stderr.write(`linux-aio: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  let mod: CommandModule;
  try {
    mod = await command.load();
  } catch (err) {
    // Typically the native addon: not built, or not Linux. One line, no stack.
    process.stderr.write(`linux-aio ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  return mod.main(rest);
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // A bug rather than a user error: keep the stack.
    process.stderr.write(`linux-aio: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
