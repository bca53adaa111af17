/**
 * npm as a user runs it, for the packaging tests: a clean environment (none of
 * the npm_* variables of the `npm test` that runs us), errors that show npm's
 * output, and where Node's headers are for building the prebuilt addon offline.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

/** The environment of a shell that never ran npm, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) || /^npm_config_nodedir$/i.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command; `check` (default) throws with its output if it fails. */
export function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; check?: boolean }): Ran {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd, env: opts.env ?? cleanEnv(), encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20,
  });
  const ran = { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  if (opts.check !== false && (r.error || r.status !== 0)) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${opts.cwd}) failed: ${r.error?.message ?? `exit ${r.status}`}\n` +
      `--- stdout\n${ran.stdout}\n--- stderr\n${ran.stderr}`);
  }
  return ran;
}

/** Why npm or a C toolchain is missing here, or undefined when both are present. */
export function packSkipReason(): string | undefined {
  for (const [cmd, why] of [['npm', 'npm'], ['make', 'make (to build the prebuilt addon)'], ['cc', 'a C compiler (cc)']] as const) {
    const r = spawnSync(cmd, ['--version'], { stdio: 'ignore' });
    if (r.error || r.status !== 0) return `${why} is not installed`;
  }
  return undefined;
}

/** A folder holding include/node/node_api.h for node-gyp (npm_config_nodedir), if this machine has one. */
export function nodeHeadersDir(): string | undefined {
  const candidates = [
    process.env.npm_config_nodedir,
    path.dirname(path.dirname(process.execPath)),
    path.join(os.homedir(), '.cache', 'node-gyp', process.versions.node),
  ].filter((d): d is string => !!d);
  return candidates.find((d) => fs.existsSync(path.join(d, 'include', 'node', 'node_api.h')));
}
