import assert from "node:assert/strict";
import { resolveConfig } from "../config/mod.ts";
import { createLogger } from "../log/logger.ts";
import { startObservability } from "./mod.ts";

Deno.test("observe: startObservability with the HTTP port 0 starts nothing and stops cleanly", async () => {
  const config = resolveConfig({ env: {}, flags: { "http-port": "0" } });
  const o = await startObservability({
    config,
    log: createLogger("t", { level: "error" }),
    modules: () => [],
    terminal: false,
  });
  assert.equal(o.url, undefined);
  await o.stop();
  await o.stop();
});

Deno.test("observe: startObservability refuses a public host unless allowed", async () => {
  const config = resolveConfig({ env: {}, flags: { "http-host": "0.0.0.0", "http-port": "1" } });
  assert.equal(config.httpAllowPublic, false);
  await assert.rejects(
    startObservability({ config, log: createLogger("t"), modules: () => [], terminal: false }),
    /NEXUS_HTTP_HOST .*not a loopback address.*NEXUS_HTTP_ALLOW_PUBLIC=true/,
  );
});
