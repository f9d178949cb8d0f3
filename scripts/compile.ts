/**
 * `deno task compile`: builds the standalone binary `dist/nexus` (see scripts/compile_binary.ts).
 * Needs DENORT_BIN (the denort runtime of this Deno version) when offline; exits 1 with what
 * is missing otherwise. `--output PATH` changes the output file.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { compileNexus } from "./compile_binary.ts";

if (import.meta.main) {
  let output: string | undefined;
  try {
    ({ values: { output } } = parseArgs({
      args: Deno.args,
      options: { output: { type: "string" } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    console.error(`compile: ${(e as Error).message}`);
    Deno.exit(2);
  }
  const root = new URL("..", import.meta.url).pathname;
  Deno.exit(await compileNexus({ root, output }));
}
