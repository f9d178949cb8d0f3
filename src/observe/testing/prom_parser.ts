/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests: checks HELP and
 * TYPE lines, sample syntax, label escaping, family grouping, duplicate series and
 * histogram consistency. Throws on the first violation with the line number.
 *
 * @module
 */

/** One parsed sample. */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One parsed family. */
export interface ParsedFamily {
  name: string;
  help?: string;
  type: string;
  samples: ParsedSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseValue(s: string, where: string): number {
  if (s === "+Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  if (s === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) {
    throw new Error(`${where}: bad value "${s}"`);
  }
  return Number(s);
}

function parseLabels(s: string, where: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1; // after "{"
  while (true) {
    if (s[i] === "}") return { labels, rest: s.slice(i + 1) };
    const m = LABEL.exec(s.slice(i));
    if (!m) throw new Error(`${where}: bad label name at "${s.slice(i, i + 20)}"`);
    const name = m[0];
    i += name.length;
    if (s[i] !== "=" || s[i + 1] !== '"') throw new Error(`${where}: expected ="`);
    i += 2;
    let v = "";
    while (true) {
      const c = s[i];
      if (c === undefined) throw new Error(`${where}: unterminated label value`);
      if (c === "\\") {
        const n = s[i + 1];
        if (n === "\\") v += "\\";
        else if (n === '"') v += '"';
        else if (n === "n") v += "\n";
        else throw new Error(`${where}: bad escape \\${n}`);
        i += 2;
        continue;
      }
      if (c === '"') break;
      if (c === "\n") throw new Error(`${where}: raw newline in label value`);
      v += c;
      i++;
    }
    i++;
    if (name in labels) throw new Error(`${where}: duplicate label ${name}`);
    labels[name] = v;
    if (s[i] === ",") i++;
    else if (s[i] !== "}") throw new Error(`${where}: expected , or }`);
  }
}

function familyOf(sample: string, families: Map<string, ParsedFamily>): ParsedFamily | undefined {
  const direct = families.get(sample);
  if (direct) return direct;
  for (const suf of ["_bucket", "_sum", "_count"]) {
    if (sample.endsWith(suf)) {
      const f = families.get(sample.slice(0, -suf.length));
      if (f && (f.type === "histogram" || (f.type === "summary" && suf !== "_bucket"))) return f;
    }
  }
  return undefined;
}

/** Parses and validates `text`; returns the families by name. */
export function parsePrometheus(text: string): Map<string, ParsedFamily> {
  if (text !== "" && !text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const families = new Map<string, ParsedFamily>();
  const closed = new Set<string>();
  const seriesSeen = new Set<string>();
  let current: string | undefined;
  const lines = text.split("\n");
  lines.pop();
  lines.forEach((line, idx) => {
    const where = `line ${idx + 1}`;
    if (line.trim() === "") return;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) ([^ ]+)(?: (.*))?$/.exec(line);
      if (!m) return; // other comments are allowed
      const [, kind, name, rest] = m;
      if (!NAME.test(name!) || NAME.exec(name!)![0] !== name) {
        throw new Error(`${where}: bad metric name ${name}`);
      }
      if (closed.has(name!) && current !== name) {
        throw new Error(`${where}: family ${name} is not contiguous`);
      }
      if (current && current !== name) closed.add(current);
      current = name;
      let f = families.get(name!);
      if (!f) families.set(name!, f = { name: name!, type: "untyped", samples: [] });
      if (kind === "HELP") {
        if (f.help !== undefined) throw new Error(`${where}: second HELP for ${name}`);
        if (/\\[^\\n]/.test((rest ?? "").replace(/\\\\/g, ""))) {
          throw new Error(`${where}: bad escape in HELP`);
        }
        f.help = (rest ?? "").replace(/\\(\\|n)/g, (_, c) => (c === "n" ? "\n" : "\\"));
      } else {
        if (!TYPES.has(rest ?? "")) throw new Error(`${where}: bad TYPE "${rest}"`);
        if (f.samples.length) throw new Error(`${where}: TYPE after samples of ${name}`);
        if ((f as { typed?: boolean }).typed) throw new Error(`${where}: second TYPE for ${name}`);
        (f as { typed?: boolean }).typed = true;
        f.type = rest!;
      }
      return;
    }
    const nm = NAME.exec(line);
    if (!nm) throw new Error(`${where}: bad sample "${line}"`);
    const name = nm[0];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith("{")) ({ labels, rest } = parseLabels(rest, where));
    const parts = rest.split(" ");
    if (parts[0] !== "" || parts.length < 2 || parts.length > 3) {
      throw new Error(`${where}: expected " value [timestamp]" in "${line}"`);
    }
    const value = parseValue(parts[1]!, where);
    if (parts[2] !== undefined && !/^-?\d+$/.test(parts[2])) {
      throw new Error(`${where}: bad timestamp`);
    }
    let f = familyOf(name, families);
    if (!f) {
      f = { name, type: "untyped", samples: [] };
      families.set(name, f);
    }
    if (closed.has(f.name)) throw new Error(`${where}: family ${f.name} is not contiguous`);
    if (current && current !== f.name) closed.add(current);
    current = f.name;
    const series = name + JSON.stringify(Object.entries(labels).sort());
    if (seriesSeen.has(series)) throw new Error(`${where}: duplicate series ${series}`);
    seriesSeen.add(series);
    if (f.type === "counter" && !(value >= 0)) throw new Error(`${where}: negative counter`);
    if (name.endsWith("_bucket") && f.type === "histogram" && labels.le === undefined) {
      throw new Error(`${where}: bucket without le`);
    }
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) {
    if (f.type !== "histogram") continue;
    const groups = new Map<string, ParsedSample[]>();
    for (const s of f.samples) {
      const { le: _le, ...rest } = s.labels;
      const k = JSON.stringify(Object.entries(rest).sort());
      groups.set(k, [...(groups.get(k) ?? []), s]);
    }
    for (const [k, ss] of groups) {
      const buckets = ss.filter((s) => s.name === `${f.name}_bucket`);
      const count = ss.find((s) => s.name === `${f.name}_count`);
      const sum = ss.find((s) => s.name === `${f.name}_sum`);
      const inf = buckets.find((b) => b.labels.le === "+Inf");
      if (!count || !sum || !inf) {
        throw new Error(`histogram ${f.name}${k}: missing +Inf/sum/count`);
      }
      if (inf.value !== count.value) throw new Error(`histogram ${f.name}${k}: +Inf != count`);
      const sorted = [...buckets].sort((a, b) =>
        parseValue(a.labels.le!, "le") - parseValue(b.labels.le!, "le")
      );
      for (let i = 1; i < sorted.length; i++) {
        if (sorted[i]!.value < sorted[i - 1]!.value) {
          throw new Error(`histogram ${f.name}${k}: buckets not cumulative`);
        }
      }
    }
  }
  return families;
}

/** The value of the sample `name` with exactly `labels` (subset match), or undefined. */
export function sampleValue(
  families: Map<string, ParsedFamily>,
  name: string,
  labels: Record<string, string>,
): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}
