/**
 * The README stays true: every setting is documented, its two commands exist as tasks, and CI
 * runs the README's test command.
 */
import assert from "node:assert/strict";
import { settings } from "../src/config/mod.ts";

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
