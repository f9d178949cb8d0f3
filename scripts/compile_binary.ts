/**
 * Builds the standalone binary `dist/nexus` with `deno compile`: `main.ts` with exactly the
 * permissions Nexus uses (no --allow-all) and the files it reads at run time (migrations/,
 * the dashboard assets).
 *
 * `deno compile` needs `denort`, the runtime matching this Deno version, which it normally
 * downloads; offline it must come from `DENORT_BIN` (or Deno's download cache). Pointing
 * DENORT_BIN at the `deno` binary itself produces a binary that starts a REPL, so that is
 * refused.
 *
 * @module
 */

/** Why compiling is impossible here, or the runtime to use. */
export type DenortResolution =
  | { ok: true; denort: string | undefined; via: "DENORT_BIN" | "cache" }
  | { ok: false; reason: string };

/** Permissions baked into the binary (see docs/observability.md for why each is needed). */
export const PERMISSIONS = [
  "--allow-net", // Kafka, PostgreSQL, S3, the HTTP endpoints (hosts are configurable)
  "--allow-env", // settings, *_FILE secrets, AWS SDK variables
  "--allow-read", // *_FILE secrets, KAFKA_TLS_CA_FILE, loader CSV inputs, embedded files
  "--allow-write", // generate --output/--manifest paths chosen by the user
  "--allow-sys", // kafkajs and the AWS SDK read host name / OS release
];

/** Files read at run time, embedded with --include. */
export const INCLUDES = ["migrations/", "src/dashboard/"];

/** Name of the denort archive Deno caches for `version` and `target`. */
export function denortCachePath(denoDir: string, version: string, target: string): string {
  return `${denoDir}/dl/release/v${version}/denort-${target}.zip`;
}

async function statFile(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    const s = await Deno.stat(path);
    return s.isFile ? s : undefined;
  } catch {
    return undefined;
  }
}

async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    if ((await Deno.realPath(a)) === (await Deno.realPath(b))) return true;
    const [sa, sb] = [await Deno.stat(a), await Deno.stat(b)];
    if (sa.size !== sb.size) return false;
    const digest = async (p: string) =>
      new Uint8Array(await crypto.subtle.digest("SHA-256", await Deno.readFile(p))).join(",");
    return (await digest(a)) === (await digest(b));
  } catch {
    return false;
  }
}

/** True when `bin --version` prints "deno X.Y.Z" within 5 s (the CLI, not denort). */
async function answersLikeDenoCli(bin: string): Promise<boolean> {
  try {
    const child = new Deno.Command(bin, {
      args: ["--version"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      env: { NO_COLOR: "1" },
    }).spawn();
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already ended */ }
    }, 5000);
    const out = await child.output();
    clearTimeout(timer);
    return /^deno \d+\.\d+\.\d+/m.test(new TextDecoder().decode(out.stdout));
  } catch {
    return false;
  }
}

const HOW =
  "Fix: on a machine with internet, download denort for Deno {version} ({target}) — the zip named denort-{target}.zip from Deno's release {version} — unzip it, copy it here and set DENORT_BIN=/path/to/denort.";

/** Decides which denort to use, or why compiling cannot work here. */
export async function resolveDenort(opts: {
  env: Record<string, string | undefined>;
  execPath: string;
  denoDir: string;
  version: string;
  target: string;
}): Promise<DenortResolution> {
  const how = HOW.replaceAll("{version}", opts.version).replaceAll("{target}", opts.target);
  const bin = opts.env.DENORT_BIN;
  if (bin) {
    if (!(await statFile(bin))) {
      return { ok: false, reason: `DENORT_BIN is "${bin}", which is not a file. ${how}` };
    }
    if (await sameFile(bin, opts.execPath)) {
      return {
        ok: false,
        reason:
          `DENORT_BIN is "${bin}", the deno CLI itself (${opts.execPath}), not the denort runtime: a binary built with it only starts a REPL. ${how}`,
      };
    }
    if (await answersLikeDenoCli(bin)) {
      return {
        ok: false,
        reason:
          `DENORT_BIN is "${bin}", which answers --version like the deno CLI (a different deno build?), not the denort runtime: a binary built with it only starts a REPL. ${how}`,
      };
    }
    return { ok: true, denort: bin, via: "DENORT_BIN" };
  }
  const cached = denortCachePath(opts.denoDir, opts.version, opts.target);
  if (await statFile(cached)) return { ok: true, denort: undefined, via: "cache" };
  return {
    ok: false,
    reason:
      `deno compile needs the denort runtime for Deno ${opts.version} (${opts.target}): DENORT_BIN is unset and ${cached} is missing, and it cannot be downloaded here. ${how}`,
  };
}

/** Deno's cache directory (DENO_DIR), as `deno info` reports it. */
export async function denoDir(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}

/** Resolves denort for this Deno. */
export async function resolveDenortHere(): Promise<DenortResolution> {
  return await resolveDenort({
    env: Deno.env.toObject(),
    execPath: Deno.execPath(),
    denoDir: await denoDir(),
    version: Deno.version.deno,
    target: Deno.build.target,
  });
}

/** The `deno compile` arguments for `main.ts` → `output`. */
export function compileArgs(output: string): string[] {
  return [
    "compile",
    ...PERMISSIONS,
    ...INCLUDES.flatMap((i) => ["--include", i]),
    "--output",
    output,
    "main.ts",
  ];
}

/** Compiles; resolves to the exit code (prints what is missing when it cannot). */
export async function compileNexus(
  opts: { root: string; output?: string; log?: (line: string) => void },
): Promise<number> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const denort = await resolveDenortHere();
  if (!denort.ok) {
    log(`compile: cannot build: ${denort.reason}`);
    return 1;
  }
  const output = opts.output ?? "dist/nexus";
  const args = compileArgs(output);
  log(`compile: deno ${args.join(" ")}${denort.denort ? ` (DENORT_BIN=${denort.denort})` : ""}`);
  const env: Record<string, string> = {};
  if (denort.denort) env.DENORT_BIN = denort.denort;
  const r = await new Deno.Command(Deno.execPath(), { args, cwd: opts.root, env }).output();
  if (!r.success) {
    log(`compile: deno compile failed (exit ${r.code})`);
    return r.code || 1;
  }
  log(`compile: built ${output}`);
  return 0;
}
