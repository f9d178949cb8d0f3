/**
 * Watching a child process's output line by line, for the tests and the benchmark that run
 * Nexus (or a part of it) as child processes: split a stream into lines, and wait for the next
 * line that matches a marker, failing early when the child exits first.
 *
 * @module
 */

/** What a line must contain (a string) or match (a RegExp) to end a wait. */
export type LineMarker = string | RegExp;

/** True when `line` contains the string `marker` or matches the RegExp `marker`. */
export function lineMatches(marker: LineMarker, line: string): boolean {
  return typeof marker === "string" ? line.includes(marker) : marker.test(line);
}

/**
 * Calls `onLine` for every line of `stream` (without its `\n`), in order, including a last
 * line without a trailing newline. Resolves when the stream ends.
 */
export async function forEachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let buf = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  }
  if (buf !== "") onLine(buf);
}

/** Options of `LineWaiters`. */
export interface LineWaitersOptions<T> {
  /** Names the child in errors, e.g. `nexus-1`. */
  name: string;
  /** Settles when the child has exited; pending waits then reject. */
  exited: Promise<T>;
  /**
   * Extra context appended to the "exited before" error, from what `exited` resolved with
   * (e.g. the exit code, where the log is). Default none.
   */
  context?: (exit: T) => string;
}

interface Waiter {
  marker: LineMarker;
  resolve(line: string): void;
}

/** Pending waits for lines of one child; feed it every line with `offer`. */
export class LineWaiters<T = unknown> {
  readonly #waiters: Waiter[] = [];
  readonly #o: LineWaitersOptions<T>;

  /** Waits for lines of the child described by `options`. */
  constructor(options: LineWaitersOptions<T>) {
    this.#o = options;
  }

  /** Resolves every pending wait whose marker matches `line`. */
  offer(line: string): void {
    for (const w of [...this.#waiters]) {
      if (lineMatches(w.marker, line)) {
        this.#remove(w);
        w.resolve(line);
      }
    }
  }

  /**
   * Resolves with the next offered line matching `marker` (lines offered before the call do
   * not count). Rejects after `timeoutMs`, or as soon as the child exits without such a line.
   */
  next(marker: LineMarker, timeoutMs: number): Promise<string> {
    const { name, exited, context } = this.#o;
    return new Promise((resolve, reject) => {
      const w: Waiter = { marker, resolve: (l) => (clearTimeout(t), resolve(l)) };
      const t = setTimeout(() => {
        this.#remove(w);
        reject(new Error(`${name}: no line with ${String(marker)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push(w);
      exited.then((exit) => {
        if (!this.#waiters.includes(w)) return;
        clearTimeout(t);
        this.#remove(w);
        const more = context?.(exit) ?? "";
        reject(new Error(`${name} exited before a line with ${String(marker)}${more}`));
      });
    });
  }

  #remove(w: Waiter): void {
    const i = this.#waiters.indexOf(w);
    if (i >= 0) this.#waiters.splice(i, 1);
  }
}
