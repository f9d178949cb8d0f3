/**
 * Event timestamps as text, fast: the generator writes one ISO-8601 instant per event, and
 * `Date#toISOString` costs more than building the JSON around it. Consecutive events share
 * their minute, so the `YYYY-MM-DDTHH:MM:` prefix is formatted once per minute and only the
 * seconds and milliseconds are appended.
 *
 * @module
 */

/** Formats epoch milliseconds exactly as `new Date(t).toISOString()` does. */
export class IsoFormatter {
  #minute = Number.NaN;
  #prefix = "";

  /** `new Date(t).toISOString()`; throws the same RangeError for an invalid time. */
  format(t: number): string {
    const minute = Math.floor(t / 60_000);
    if (minute !== this.#minute) {
      const text = new Date(minute * 60_000).toISOString();
      // years outside 0000..9999 have a signed six-digit form: leave them to Date
      if (text.length !== 24) return new Date(t).toISOString();
      this.#minute = minute;
      this.#prefix = text.slice(0, 17);
    }
    const rest = t - minute * 60_000;
    const second = Math.floor(rest / 1000);
    const ms = rest % 1000;
    if (!Number.isInteger(ms)) return new Date(t).toISOString(); // fractional ms: Date truncates
    return this.#prefix + (second < 10 ? "0" : "") + second +
      (ms < 10 ? ".00" : ms < 100 ? ".0" : ".") + ms + "Z";
  }
}
