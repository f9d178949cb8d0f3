/**
 * `deno task dev`: the one command for a fresh machine. Brings the local stack up when no
 * external services are configured (KAFKA_BROKERS, DATABASE_URL, S3_ENDPOINT), then runs
 * `nexus run` with the given arguments (default modules: generator, aggregator, archiver).
 *
 * @module
 */
import { main } from "../main.ts";
import { ensureStack } from "./mod.ts";

if (import.meta.main) {
  const env = await ensureStack();
  for (const [k, v] of Object.entries(env)) {
    if (Deno.env.get(k) === undefined) Deno.env.set(k, v);
  }
  Deno.exit(await main(["run", ...Deno.args]));
}
