/**
 * The README stays true: every setting is documented, its two commands exist as tasks, CI runs
 * the README's test command, and the command table names real commands with flags they have.
 */
import assert from "node:assert/strict";
import { commands } from "../src/cli/registry.ts";
import { settingFlags, settings } from "../src/config/mod.ts";

const root = new URL("../", import.meta.url);
const readme = await Deno.readTextFile(new URL("README.md", root));
const denoJson = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))) as {
  tasks: Record<string, string>;
};
const ci = await Deno.readTextFile(new URL(".ci/run", root));

Deno.test("every setting's environment variable is in the README's configuration table", () => {
  const missing = Object.values(settings).map((s) => s.env).filter((env) => !readme.includes(env));
  assert.deepEqual(missing, []);
});

Deno.test("the README's two commands are tasks of deno.json, and CI runs the test command", () => {
  const commands = [...readme.matchAll(/^npx -y deno@([\d.]+) task (\w+)$/gm)];
  assert.deepEqual(commands.map((m) => m[2]), ["dev", "test"]);
  for (const m of commands) assert.ok(denoJson.tasks[m[2]!], `no task ${m[2]}`);
  const testCommand = commands[1]![0];
  assert.ok(
    ci.includes(testCommand.replace(/deno@[\d.]+/, "deno@$DENO_VERSION")) ||
      ci.includes(testCommand),
    `.ci/run does not run "${testCommand}"`,
  );
  const version = /DENO_VERSION=([\d.]+)/.exec(ci)?.[1];
  assert.equal(version, commands[0]![1], "README and CI use different Deno versions");
});

Deno.test("the README's command table lists every command, each with flags it really has", () => {
  const section = readme.slice(
    readme.indexOf("## Commands"),
    readme.indexOf("\n### ", readme.indexOf("## Commands")),
  );
  const rows = section.split("\n").filter((l) => l.startsWith("| `"));
  const reachable = new Set(settingFlags());
  const listed: string[] = [];
  for (const row of rows) {
    const cell = row.split(" | ")[0]!;
    const name = /^\| `([a-z-]+)/.exec(cell)![1]!;
    const entry = commands.find((c) => c.spec.name === name);
    assert.ok(entry, `the README lists "${name}", which is not a command`);
    listed.push(name);
    for (const [, flag] of cell.matchAll(/--([a-z0-9-]+)/g)) {
      assert.ok(
        flag! in entry.spec.options || reachable.has(flag!),
        `README: ${name} --${flag} is neither a flag of ${name} nor a setting`,
      );
    }
  }
  assert.deepEqual(listed.sort(), commands.map((c) => c.spec.name).sort());
});

Deno.test("every flag of the README's generator knobs is a generate flag or a setting", () => {
  const start = readme.indexOf("### Generator");
  const section = readme.slice(start, readme.indexOf("\n### ", start + 1));
  const generate = commands.find((c) => c.spec.name === "generate")!.spec;
  const flags = [...section.matchAll(/`--([a-z0-9-]+)/g)].map((m) => m[1]!);
  assert.ok(flags.includes("rate") && flags.includes("seed"), "the knobs are listed");
  const unknown = flags.filter((f) => !(f in generate.options) && !settingFlags().includes(f));
  assert.deepEqual(unknown, []);
});
