import assert from "node:assert/strict";
import { isOurProcess, processState, spawnDetached } from "./process.ts";

Deno.test("a detached process is recognised by its command line as soon as spawnDetached resolves", async () => {
  const dir = await Deno.makeTempDir();
  const log = `${dir}/out.log`;
  const pids: number[] = [];
  try {
    // right after a spawn the command line is the shell's, or empty during the exec, in a few
    // percent of reads: 100 spawns make that window show if the wait were missing
    for (let i = 0; i < 100; i++) {
      const pid = await spawnDetached({ command: "sleep", args: ["30"], logFile: log });
      pids.push(pid);
      assert.ok(await isOurProcess(pid, ["sleep", "30"]), `spawn ${i}: pid ${pid} not recognised`);
    }
  } finally {
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* already gone */ }
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spawnDetached resolves when the program exits at once instead of waiting", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const started = performance.now();
    const pid = await spawnDetached({
      command: "/nonexistent/program",
      args: [],
      logFile: `${dir}/out.log`,
    });
    assert.ok(performance.now() - started < 4000, "resolved before the 5 s wait bound");
    await new Promise((r) => setTimeout(r, 100));
    assert.notEqual(await processState(pid), "alive");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
