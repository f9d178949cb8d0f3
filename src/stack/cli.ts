/**
 * `deno task stack up|down|status|env|start|stop|restart` — the local stack from the shell.
 * Progress goes to stderr; `status` and `env` results go to stdout.
 *
 * @module
 */
import { hideKafkajsTimerWarning } from "../kafka/warnings.ts";
import { renderEnvLines } from "./env.ts";
import { reasonOf, StackError } from "./errors.ts";
import {
  parseServiceName,
  restartService,
  stackDown,
  stackEnv,
  stackStatus,
  stackUp,
  startService,
  stopService,
} from "./stack.ts";

const USAGE = `usage: deno task stack <command>

  up                 install what is missing, start what is stopped, wait until healthy
  down               stop every service and wait until its process is gone
  status             one line per service: running/stopped, pid, address
  env                print KEY=value lines of the running stack (contains secrets)
  start   <service>  start one service (kafka | postgres | s3)
  stop    <service>  stop one service
  restart <service>  stop then start one service

ports: NEXUS_STACK_KAFKA_PORT (19092, controller +1), NEXUS_STACK_PG_PORT (15432),
       NEXUS_STACK_S3_PORT (18333, SeaweedFS internals +1..+8 and +10008)
state: .nexus/ (tools, data, logs, run, stack/credentials.json)`;

/** Runs one CLI command and returns the process exit code. */
export async function main(args: string[]): Promise<number> {
  const [command, arg, ...rest] = args;
  const needsService = ["start", "stop", "restart"].includes(command ?? "");
  if (rest.length > 0 || (!needsService && arg !== undefined && arg !== "--help")) {
    console.error(`stack: unexpected argument ${JSON.stringify(rest[0] ?? arg)}\n\n${USAGE}`);
    return 2;
  }
  try {
    switch (command) {
      case "up":
        await stackUp();
        return 0;
      case "down":
        await stackDown();
        return 0;
      case "status": {
        for (const s of await stackStatus()) {
          const state = s.running ? "running" : "stopped";
          const pid = s.pid === undefined ? "-" : String(s.pid);
          const note = s.portsDiffer ? "  (ports differ from NEXUS_STACK_*; run up)" : "";
          console.log(
            `${s.name.padEnd(9)}${state.padEnd(9)}pid ${pid.padEnd(8)}${s.address}${note}`,
          );
        }
        return 0;
      }
      case "env":
        Deno.stdout.writeSync(new TextEncoder().encode(renderEnvLines(await stackEnv())));
        return 0;
      case "start":
        await startService(parseServiceName(arg));
        return 0;
      case "stop":
        await stopService(parseServiceName(arg));
        return 0;
      case "restart":
        await restartService(parseServiceName(arg));
        return 0;
      case undefined:
      case "help":
      case "--help":
      case "-h":
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        console.error(`stack: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof StackError) {
      for (const line of e.message.split("\n")) console.error(`stack: error: ${line}`);
    } else {
      console.error(`stack: error: ${reasonOf(e)}`);
      if (Deno.env.get("NEXUS_STACK_DEBUG")) console.error(e);
    }
    return 1;
  }
}

if (import.meta.main) {
  hideKafkajsTimerWarning();
  Deno.exit(await main(Deno.args));
}
