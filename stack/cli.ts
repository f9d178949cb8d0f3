/**
 * `deno task stack up|down|status|env|start|stop|restart` — the local stack from the shell.
 * Progress goes to stderr; `status` and `env` results go to stdout.
 *
 * @module
 */
import { hideKafkajsTimerWarning } from "../src/kafka/warnings.ts";
import { renderEnvLines } from "./env.ts";
import { reasonOf, StackError } from "./errors.ts";
import { clusterRequested, parseNodeName } from "./cluster.ts";
import {
  clusterEnv,
  clusterNodeStatus,
  clusterStackUp,
  parseServiceName,
  restartService,
  stackDown,
  stackEnv,
  stackStatus,
  stackUp,
  startClusterNode,
  startService,
  stopClusterNode,
  stopService,
} from "./stack.ts";

const USAGE = `usage: deno task stack <command>

  up [--cluster]     install what is missing, start what is stopped, wait until healthy;
                     --cluster also starts a 3-broker Kafka cluster (kafka-1..kafka-3)
  down               stop every service (and the cluster) and wait until they are gone
  status             one line per service (and cluster node): running/stopped, pid, address
  env [--cluster]    print KEY=value lines of the running stack (contains secrets);
                     --cluster: KAFKA_BROKERS lists the three cluster brokers
  start   <service>  start one service (kafka | postgres | s3 | kafka-1..kafka-3)
  stop    <service>  stop one service (kafka-N --kill: SIGKILL, like a crash)
  restart <service>  stop then start one service

ports: NEXUS_STACK_KAFKA_PORT (19092, controller +1, SASL_PLAINTEXT SCRAM-SHA-512 +3, SSL +4),
       NEXUS_STACK_PG_PORT (15432),
       NEXUS_STACK_S3_PORT (18333, SeaweedFS internals +1..+8 and +10008),
       NEXUS_STACK_CLUSTER_PORT (29092: brokers 29092/29094/29096, controllers +1)
cluster: NEXUS_STACK_KAFKA_BROKERS=3 acts like --cluster for up and env
state: .nexus/ (tools, data, logs, run, stack/credentials.json)`;

/** Runs one CLI command and returns the process exit code. */
export async function main(args: string[]): Promise<number> {
  const flags = new Set<string>(args.filter((a) => a === "--cluster" || a === "--kill"));
  const [command, arg, ...rest] = args.filter((a) => !flags.has(a));
  const needsService = ["start", "stop", "restart"].includes(command ?? "");
  const node = needsService ? parseNodeName(arg) : undefined;
  const misplaced = [...flags].find((f) =>
    f === "--cluster" ? !["up", "env"].includes(command ?? "") : !(command === "stop" && node)
  );
  if (misplaced) {
    console.error(`stack: unexpected argument ${JSON.stringify(misplaced)}\n\n${USAGE}`);
    return 2;
  }
  if (rest.length > 0 || (!needsService && arg !== undefined && arg !== "--help")) {
    console.error(`stack: unexpected argument ${JSON.stringify(rest[0] ?? arg)}\n\n${USAGE}`);
    return 2;
  }
  try {
    const cluster = flags.has("--cluster") || clusterRequested(Deno.env.toObject());
    if (node !== undefined) {
      if (command !== "start") await stopClusterNode(node, { kill: flags.has("--kill") });
      if (command !== "stop") await startClusterNode(node);
      return 0;
    }
    switch (command) {
      case "up":
        if (cluster) await clusterStackUp();
        else await stackUp();
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
        const nodes = await clusterNodeStatus();
        if (cluster || nodes.some((n) => n.running)) {
          for (const n of nodes) {
            const state = n.running ? "running" : "stopped";
            const pid = n.pid === undefined ? "-" : String(n.pid);
            console.log(`${n.name.padEnd(9)}${state.padEnd(9)}pid ${pid.padEnd(8)}${n.address}`);
          }
        }
        return 0;
      }
      case "env": {
        const env = cluster ? await clusterEnv() : await stackEnv();
        Deno.stdout.writeSync(new TextEncoder().encode(renderEnvLines(env)));
        return 0;
      }
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
