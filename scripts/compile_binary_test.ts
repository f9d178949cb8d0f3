import assert from "node:assert/strict";
import { compileArgs, denortCachePath, resolveDenort } from "./compile_binary.ts";

const base = {
  execPath: Deno.execPath(),
  version: "2.9.6",
  target: "x86_64-unknown-linux-gnu",
};

Deno.test("compile: refuses a missing denort, a DENORT_BIN that is not a file, and deno itself", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let r = await resolveDenort({ ...base, env: {}, denoDir: dir });
    assert.ok(!r.ok && /DENORT_BIN is unset/.test(r.reason) && /set DENORT_BIN=/.test(r.reason));
    r = await resolveDenort({ ...base, env: { DENORT_BIN: `${dir}/nope` }, denoDir: dir });
    assert.ok(!r.ok && /not a file/.test(r.reason));
    r = await resolveDenort({ ...base, env: { DENORT_BIN: Deno.execPath() }, denoDir: dir });
    assert.ok(!r.ok && /deno CLI itself/.test(r.reason), JSON.stringify(r));
    const fake = `${dir}/denort`;
    await Deno.writeTextFile(fake, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    r = await resolveDenort({ ...base, env: { DENORT_BIN: fake }, denoDir: dir });
    assert.deepEqual(r, { ok: true, denort: fake, via: "DENORT_BIN" });
    const cached = denortCachePath(dir, base.version, base.target);
    await Deno.mkdir(cached.slice(0, cached.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(cached, "zip");
    r = await resolveDenort({ ...base, env: {}, denoDir: dir });
    assert.deepEqual(r, { ok: true, denort: undefined, via: "cache" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compile: exact permissions, never --allow-all, and the run-time files included", () => {
  const args = compileArgs("dist/nexus");
  assert.ok(!args.includes("--allow-all") && !args.includes("-A"));
  for (const p of ["--allow-net", "--allow-env", "--allow-read", "--allow-write", "--allow-sys"]) {
    assert.ok(args.includes(p), p);
  }
  assert.ok(!args.some((a) => a.startsWith("--allow-run")));
  assert.deepEqual(args.slice(-3), ["--output", "dist/nexus", "main.ts"]);
  assert.ok(args.join(" ").includes("--include migrations/"));
  assert.ok(args.join(" ").includes("--include src/dashboard/"));
});
