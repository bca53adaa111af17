/**
 * What the subcommands share: where output goes, and the shape of a
 * subcommand module.
 * @internal
 * @module
 */

/** Where a command writes. Tests pass their own to capture the output. */
export interface CliIo {
  /** Writes text to standard output. */
  out(text: string): void;
  /** Writes text to standard error. */
  err(text: string): void;
}

/** The process's own standard output and error. */
export const processIo: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/**
 * A subcommand module: `main` returns the exit code (0 done, 1 failed,
 * 2 bad usage) and never throws for expected failures.
 */
export interface CommandModule {
  main(argv: string[], io?: CliIo): Promise<number>;
}
