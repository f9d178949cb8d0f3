/**
 * Splits a CSV byte stream into records (with their line numbers and raw text) and parses
 * them with csv-parse, so one broken line is rejected on its own.
 *
 * Why not csv-parse's own `skip_records_with_error`: after a quote error it keeps
 * accumulating the following lines into the broken record, so good rows after a bad one are
 * lost. Here a record ends at a newline once its count of `"` is even (RFC 4180), and a
 * record left open for more than `maxLines` physical lines is rejected as an unclosed quote,
 * its first line alone, and parsing resumes at the next line.
 *
 * @module
 */
import { parse as parseSync } from "csv-parse/sync";

/** One record of a CSV file. */
export interface RawRecord {
  /** 1-based physical line where the record starts. */
  line: number;
  /** The record's text without its final line break. */
  raw: string;
  /** Set when the record never closed its quote. */
  unclosed?: boolean;
}

function quotes(s: string): number {
  let n = 0;
  for (let i = s.indexOf('"'); i !== -1; i = s.indexOf('"', i + 1)) n++;
  return n;
}

/** Incremental record splitter: feed text, collect complete records. */
export class RecordSplitter {
  #rest = "";
  #lineNo = 0;
  #pending: { start: number; lines: string[]; quotes: number } | undefined;
  #first = true;
  readonly #maxLines: number;

  constructor(maxLines = 10) {
    this.#maxLines = maxLines;
  }

  /** Feeds decoded text; returns the records completed by it. */
  push(text: string, out: RawRecord[] = []): RawRecord[] {
    const parts = (this.#rest + text).split("\n");
    this.#rest = parts.pop()!;
    for (const p of parts) this.#line(p, out);
    return out;
  }

  /** Ends the input; returns the last records. */
  end(out: RawRecord[] = []): RawRecord[] {
    if (this.#rest !== "") this.#line(this.#rest, out);
    this.#rest = "";
    while (this.#pending) this.#breakPending(out);
    return out;
  }

  #line(text: string, out: RawRecord[]): void {
    let t = text.endsWith("\r") ? text.slice(0, -1) : text;
    if (this.#first) {
      t = t.replace(/^\uFEFF/, "");
      this.#first = false;
    }
    this.#lineNo++;
    this.#feed(this.#lineNo, t, out);
  }

  #feed(lineNo: number, t: string, out: RawRecord[]): void {
    const p = this.#pending;
    if (!p) {
      if (t.trim() === "") return; // empty line
      const q = quotes(t);
      if (q % 2 === 0) out.push({ line: lineNo, raw: t });
      else this.#pending = { start: lineNo, lines: [t], quotes: q };
      return;
    }
    p.lines.push(t);
    p.quotes += quotes(t);
    if (p.quotes % 2 === 0) {
      out.push({ line: p.start, raw: p.lines.join("\n") });
      this.#pending = undefined;
    } else if (p.lines.length >= this.#maxLines) {
      this.#breakPending(out);
    }
  }

  /** Rejects the pending record's first line and re-feeds the others. */
  #breakPending(out: RawRecord[]): void {
    const p = this.#pending!;
    this.#pending = undefined;
    out.push({ line: p.start, raw: p.lines[0]!, unclosed: true });
    p.lines.slice(1).forEach((l, i) => this.#feed(p.start + 1 + i, l, out));
  }
}

/** A parsed record, or the reason it cannot be parsed. */
export type ParsedRecord = RawRecord & ({ fields: string[] } | { error: string });

/**
 * Parses a batch of records with csv-parse: all at once when they are clean, one by one
 * when the batch has an error, so each bad record gets its own reason.
 */
export function parseRecords(batch: RawRecord[]): ParsedRecord[] {
  const opts = { relax_column_count: true, skip_empty_lines: false } as const;
  if (!batch.some((r) => r.unclosed)) {
    try {
      const rows = parseSync(batch.map((r) => r.raw).join("\n"), opts) as string[][];
      if (rows.length === batch.length) return batch.map((r, i) => ({ ...r, fields: rows[i]! }));
    } catch {
      // fall through to one-by-one parsing
    }
  }
  return batch.map((r): ParsedRecord => {
    if (r.unclosed) return { ...r, error: "malformed CSV line: unclosed quote" };
    try {
      const rows = parseSync(r.raw, opts) as string[][];
      if (rows.length !== 1) return { ...r, error: `malformed CSV line: ${rows.length} records` };
      return { ...r, fields: rows[0]! };
    } catch (e) {
      return { ...r, error: `malformed CSV line: ${(e as Error).message.split("\n")[0]}` };
    }
  });
}
