/**
 * Service log files: a banner line per start, and the last lines for error messages.
 *
 * @module
 */
import { dirname } from "node:path";

/** Appends `=== <time> <text> ===` to a log file, creating it (and its folder) if needed. */
export async function appendBanner(file: string, text: string): Promise<void> {
  await Deno.mkdir(dirname(file), { recursive: true });
  await Deno.writeTextFile(file, `=== ${new Date().toISOString()} ${text} ===\n`, {
    append: true,
  });
}

/**
 * Picks the most telling line of a log since the last start banner: a port that could not be
 * bound (it explains whatever failed after it), else the last exception message
 * (`...Exception: why`), else the last ERROR/FATAL/PANIC line, else the last line. Pure, for
 * `lastLogLine` and tests.
 */
export function tellingLine(text: string): string {
  const all = text.split("\n");
  const start = all.findLastIndex((l) => l.startsWith("=== "));
  const lines = all.slice(start + 1).map((l) => l.trim().replace(/^Caused by: /, ""))
    .filter((l) => l !== "");
  const pick = lines.find((l) => /failed to bind to .*Address already in use/.test(l)) ??
    lines.findLast((l) => /^[\w.$]*(Exception|Error): /.test(l)) ??
    lines.findLast((l) => /\b(ERROR|FATAL|PANIC)\b|^[EF]\d{4} /.test(l)) ??
    lines.at(-1) ?? "";
  return pick.length > 240 ? pick.slice(0, 237) + "..." : pick;
}

/** Returns the most telling line of the end of a log file (see `tellingLine`), or "". */
export async function lastLogLine(file: string): Promise<string> {
  try {
    using f = await Deno.open(file, { read: true });
    const size = (await f.stat()).size;
    const length = Math.min(size, 64 * 1024);
    await f.seek(size - length, Deno.SeekMode.Start);
    const buf = new Uint8Array(length);
    let read = 0;
    while (read < length) {
      const n = await f.read(buf.subarray(read));
      if (n === null) break;
      read += n;
    }
    return tellingLine(new TextDecoder().decode(buf.subarray(0, read)));
  } catch {
    return "";
  }
}
