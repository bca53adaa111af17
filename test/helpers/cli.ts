/** Runs the built `linux-aio` command (or another script) as a child process, for the CLI tests. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** dist/src/cli/main.js, the command's entry point. */
export const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** The script to run instead of the command. */
  script?: string;
  cwd?: string;
  /** Run as this user (and group) id: root's tests of permission errors. */
  uid?: number;
  /** Killed (SIGKILL) after this long; default 120 s. */
  timeoutMs?: number;
}

export function runCli(args: string[], opts: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [opts.script ?? MAIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd, uid: opts.uid, gid: opts.uid,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
