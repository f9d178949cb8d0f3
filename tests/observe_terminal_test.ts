/**
 * The live terminal status in a real pseudo-terminal (tmux, 80x24): the status block is
 * redrawn in place — its header appears once in the whole screen history however many
 * redraws and log lines there were — and no line is wider than 80 columns.
 */
import assert from "node:assert/strict";
import { uniqueName } from "./_support.ts";

async function has(cmd: string): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, { args: ["-V"], stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

async function tmux(...args: string[]): Promise<string> {
  const r = await new Deno.Command("tmux", { args, stdout: "piped", stderr: "piped" }).output();
  if (!r.success) throw new Error(`tmux ${args[0]} failed: ${new TextDecoder().decode(r.stderr)}`);
  return new TextDecoder().decode(r.stdout);
}

const haveTmux = await has("tmux");

Deno.test({
  name: haveTmux
    ? "terminal: live status redraws in place in a TTY (tmux 80x24)"
    : "terminal: live status in a TTY (skipped: tmux is not installed; apt-get install tmux)",
  ignore: !haveTmux,
  async fn() {
    const session = uniqueName("nexus_term");
    const demo = new URL("./fixtures/term_demo.ts", import.meta.url).pathname;
    const cmd = `'${Deno.execPath()}' run --allow-env --allow-read '${demo}' 3 700; sleep 30`;
    await tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", cmd);
    try {
      let screen = "";
      for (let i = 0; i < 100; i++) {
        await new Promise((r) => setTimeout(r, 200));
        screen = await tmux("capture-pane", "-p", "-J", "-S", "-1000", "-t", session);
        if (screen.includes("demo done")) break;
      }
      assert.match(screen, /demo done/, screen);
      const lines = screen.split("\n");
      const headers = lines.filter((l) => /^module\s+ev\/s\s+lag\s+watermark/.test(l));
      assert.equal(headers.length, 1, `status block repeated:\n${screen}`);
      for (const name of ["generator", "aggregator", "archiver"]) {
        assert.equal(lines.filter((l) => l.startsWith(name)).length, 1, `${name}:\n${screen}`);
      }
      assert.ok(lines.filter((l) => l.includes("a log line")).length >= 3, screen);
      for (const l of lines) assert.ok(l.length <= 80, `wider than 80: ${l}`);
      // The block sits below the last log line.
      const h = lines.findIndex((l) => /^module\s+ev\/s/.test(l));
      const lastLog = lines.findLastIndex((l) => l.includes("a log line"));
      assert.ok(h > lastLog, screen);
    } finally {
      await tmux("kill-session", "-t", session).catch(() => "");
    }
  },
});
