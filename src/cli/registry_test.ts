import assert from "node:assert/strict";
import { resolveConfig, settingFlags } from "../config/mod.ts";
import { splitArgs } from "./args.ts";
import { usageText } from "./options.ts";
import { commands } from "./registry.ts";

Deno.test("no command flag repeats a setting flag, so every flag of every command is reachable", () => {
  const taken = new Set([...settingFlags(), "help", "h"]);
  for (const { spec } of commands) {
    for (const flag of Object.keys(spec.options)) {
      assert.ok(!taken.has(flag), `${spec.name} --${flag} is a setting flag: it never reaches it`);
    }
  }
});

Deno.test("command names are unique and each entry loads the command of its spec", async () => {
  const names = commands.map((c) => c.spec.name);
  assert.equal(new Set(names).size, names.length);
  for (const entry of commands) {
    const cmd = await entry.load();
    assert.equal(cmd.spec, entry.spec, entry.spec.name);
    assert.equal(cmd.name, entry.spec.name);
  }
});

Deno.test("every command's usage lists each of its flags once", () => {
  for (const { spec } of commands) {
    const text = usageText(spec);
    assert.ok(text.startsWith(`nexus ${spec.name} `), spec.name);
    for (const flag of Object.keys(spec.options)) {
      const rows = text.split("\n").filter((l) => new RegExp(`^  --${flag}( |$)`).test(l));
      assert.equal(rows.length, 1, `${spec.name} --${flag}`);
    }
  }
});

Deno.test("`generate --rate 50`: the setting reaches generate as its send cap", async () => {
  const { parseGenerateArgs } = await import("../generator/cli.ts");
  const split = splitArgs(["generate", "--seed", "3", "--rate", "50", "--events=10"]);
  assert.equal(split.command, "generate");
  assert.deepEqual(split.settings, { rate: "50" });
  const config = resolveConfig({ flags: split.settings, env: {} });
  assert.equal(config.generatorRate, 50);
  const o = parseGenerateArgs(split.rest, { rate: config.generatorRate });
  assert.equal(o.rate, 50);
  assert.equal(o.params.seed, 3);
  assert.equal(o.params.events, 10);
});

Deno.test("--help loads no module code: main.ts statically imports no npm package or client", async () => {
  const main = new URL("../../main.ts", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", main.pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    redirects?: Record<string, string>;
    modules: {
      specifier: string;
      kind?: string;
      dependencies?: { isDynamic?: boolean; code?: { specifier?: string } }[];
    }[];
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const stack = [...info.roots];
  while (stack.length) {
    const s = stack.pop()!;
    const spec = info.redirects?.[s] ?? s;
    if (seen.has(spec)) continue;
    seen.add(spec);
    for (const d of bySpecifier.get(spec)?.dependencies ?? []) {
      if (!d.isDynamic && d.code?.specifier) stack.push(d.code.specifier);
    }
  }
  const heavy = [...seen].filter((s) =>
    s.startsWith("npm:") || bySpecifier.get(s)?.kind === "npm" ||
    /\/src\/(kafka|postgres|s3|observe|dashboard|aggregator|loader|events)\//.test(s) ||
    /\/src\/(generator|archiver)\/(?!params\.ts|random\.ts|key\.ts)/.test(s)
  );
  assert.deepEqual(heavy, []);
});
