/**
 * Browser set-up for tests: Debian's Chromium driven by playwright-core (no browser
 * download). `ensureChromium()` installs the `chromium` package when it is missing and this
 * process runs as root; otherwise it fails with a message saying what to install.
 *
 * @module
 */
import { type BrowserContext, chromium } from "playwright-core";

/** Where Debian installs Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** Launch flags: headless, sandbox-less (root in a container), no network chatter. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

async function sh(cmd: string[]): Promise<{ ok: boolean; out: string }> {
  const r = await new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
    env: { DEBIAN_FRONTEND: "noninteractive" },
  }).output();
  const dec = new TextDecoder();
  return { ok: r.success, out: (dec.decode(r.stdout) + dec.decode(r.stderr)).slice(-2000) };
}

/**
 * Makes sure `/usr/bin/chromium` exists: installs Debian's `chromium` (apt-get update, then
 * apt-get install -y chromium) when missing and running as root.
 *
 * @throws {Error} saying what is missing and how to install it when that is impossible.
 */
export async function ensureChromium(): Promise<string> {
  if (await exists(CHROMIUM)) return CHROMIUM;
  const uid = Deno.uid();
  if (uid !== 0) {
    throw new Error(
      `Cannot run the browser test: ${CHROMIUM} is missing and this process is not root (uid ${uid}), so it cannot install it. Fix: run "sudo apt-get install -y chromium" (Debian's package).`,
    );
  }
  const update = await sh(["apt-get", "update"]);
  if (!update.ok) throw new Error(`Cannot install Chromium: apt-get update failed: ${update.out}`);
  const install = await sh(["apt-get", "install", "-y", "--no-install-recommends", "chromium"]);
  if (!install.ok || !(await exists(CHROMIUM))) {
    throw new Error(
      `Cannot install Chromium with "apt-get install -y chromium": ${install.out}. Fix: install Debian's chromium package so ${CHROMIUM} exists.`,
    );
  }
  return CHROMIUM;
}

/**
 * Launches headless Chromium with a fresh profile (`--user-data-dir`, passed the way
 * playwright requires: a persistent context); `close()` also removes the profile.
 */
export async function launchBrowser(): Promise<
  { context: BrowserContext; close(): Promise<void> }
> {
  const executablePath = await ensureChromium();
  const profile = await Deno.makeTempDir({ prefix: "nexus-chromium-" });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 60_000,
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}
