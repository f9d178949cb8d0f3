/**
 * A lock file so two stack commands (say, `deno task dev` and the test runner) never start or
 * stop the same service at the same time. A lock whose owner died is taken over.
 *
 * @module
 */
import { dirname } from "node:path";
import { StackError } from "./errors.ts";
import { processState, readPidFile, removeIfExists } from "./process.ts";
import { sleep } from "./wait.ts";

/** Options for `withLock`. */
export interface LockOptions {
  /** Give up waiting for another holder after this many ms. Default 600 000. */
  timeoutMs?: number;
  /** Called once when we have to wait for another process. */
  onWait?: (holderPid: number) => void;
}

/** Runs `fn` while holding the lock file `file` (created exclusively, holding our pid). */
export async function withLock<T>(
  file: string,
  fn: () => Promise<T>,
  opts: LockOptions = {},
): Promise<T> {
  await Deno.mkdir(dirname(file), { recursive: true });
  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  let told = false;
  while (true) {
    try {
      await Deno.writeTextFile(file, `${Deno.pid}\n`, { createNew: true });
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    const holder = await readPidFile(file);
    if (holder === undefined || await processState(holder) !== "alive") {
      await removeIfExists(file); // stale: its owner is gone
      continue;
    }
    if (Date.now() > deadline) {
      throw new StackError(
        `Cannot lock the stack: current value is ${file} held by pid ${holder}; fix: wait for ` +
          `that stack command to finish, or kill ${holder} if it hangs`,
      );
    }
    if (!told) opts.onWait?.(holder);
    told = true;
    await sleep(250);
  }
  try {
    return await fn();
  } finally {
    await removeIfExists(file);
  }
}
