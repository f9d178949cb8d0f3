/**
 * Runs a tool to completion (mvn, pip, initdb, pg_ctl, StorageTool) and captures its output.
 *
 * @module
 */
import { StackError } from "./errors.ts";

/** Options for `runCommand`. */
export interface RunOptions {
  /** Working directory. Default: the current one. */
  cwd?: string;
  /** Extra environment variables (added to the inherited ones). Default: none. */
  env?: Record<string, string>;
  /** Kill the command after this many ms. Default 600 000 (10 min). */
  timeoutMs?: number;
  /** Start it in its own session, so daemons it leaves behind survive us. Default false. */
  detached?: boolean;
  /** Which tool this is part of, for the "not found" message. Default: the command name. */
  purpose?: string;
  /** How to install the command when it is missing, for the "not found" message. */
  installHint?: string;
}

/** What a finished command printed and returned. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command args` and returns its exit code and output; a non-zero exit is not an error.
 * Fails with a one-line StackError when the command does not exist or times out.
 */
export async function runCommand(
  command: string,
  args: string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const purpose = opts.purpose ?? command;
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(command, {
      args,
      cwd: opts.cwd,
      env: opts.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: opts.detached ?? false,
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new StackError(
        `Cannot run ${purpose}: current value is "${command}", which is not installed or not on ` +
          `PATH; fix: ${opts.installHint ?? `install ${command}`}`,
      );
    }
    if (e instanceof DOMException && (e.name === "TimeoutError" || e.name === "AbortError")) {
      throw new StackError(
        `Cannot run ${purpose}: current value is a run longer than ${timeoutMs} ms ` +
          `(${command} ${args.join(" ")}); fix: check the network / registry and retry`,
      );
    }
    throw e;
  }
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/**
 * Returns the most telling line of a command's output for a one-line message: the first line
 * that says "error" (mvn's and pip's first [ERROR]/ERROR: line names the cause), else the last.
 */
export function outputHint(result: RunResult): string {
  const lines = (result.stderr + "\n" + result.stdout).split("\n").map((l) => l.trim())
    .filter((l) => l !== "");
  const line = lines.find((l) => /\berror\b/i.test(l)) ?? lines.at(-1) ?? "(no output)";
  return line.slice(0, 300);
}
