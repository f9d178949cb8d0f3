/**
 * Progress of a long send: on a terminal, one line rewritten in place (sent, events/s, ETA);
 * otherwise a plain line every few seconds.
 *
 * @module
 */

/** Reports progress to stderr. */
export class Progress {
  readonly #total: number | undefined;
  readonly #tty: boolean;
  readonly #everyMs: number;
  readonly #started = performance.now();
  #lastAt = 0;
  readonly #write: (text: string) => void;

  constructor(
    total: number | undefined,
    opts: { tty?: boolean; everyMs?: number; write?: (t: string) => void } = {},
  ) {
    this.#total = total;
    this.#tty = opts.tty ?? Deno.stderr.isTerminal();
    this.#everyMs = opts.everyMs ?? (this.#tty ? 200 : 5000);
    const enc = new TextEncoder();
    this.#write = opts.write ?? ((t) => Deno.stderr.writeSync(enc.encode(t)));
  }

  /** The line for `sent` records so far. */
  line(sent: number): string {
    const secs = (performance.now() - this.#started) / 1000;
    const rate = secs > 0 ? sent / secs : 0;
    const total = this.#total;
    const pct = total ? ` (${(sent / total * 100).toFixed(1)}%)` : "";
    const eta = total && rate > 0 ? `, ETA ${Math.max(0, (total - sent) / rate).toFixed(0)}s` : "";
    return `sent ${sent}${total ? `/${total}` : ""} records${pct}, ${Math.round(rate)}/s${eta}`;
  }

  /** Call after each acknowledged batch. */
  update(sent: number): void {
    const now = performance.now();
    if (now - this.#lastAt < this.#everyMs) return;
    this.#lastAt = now;
    if (this.#tty) this.#write(`\r\x1b[2K${this.line(sent)}`);
    else this.#write(`${new Date().toISOString()} generate: ${this.line(sent)}\n`);
  }

  /** Final line. */
  done(sent: number): void {
    const secs = (performance.now() - this.#started) / 1000;
    this.#write(
      `${this.#tty ? "\r\x1b[2K" : ""}sent ${sent} records in ${secs.toFixed(1)}s, ${
        Math.round(sent / Math.max(secs, 1e-3))
      }/s, done\n`,
    );
  }
}
