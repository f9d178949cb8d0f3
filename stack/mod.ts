/**
 * The local stack (Kafka 4.1.1 KRaft, PostgreSQL 15, SeaweedFS S3) without Docker, for
 * `deno task dev`, the test runner and `deno task stack`. State lives in `.nexus/`.
 *
 * @module
 */
import { externalEnv } from "./env.ts";
import { type StackOptions, stackUp } from "./stack.ts";

export {
  clusterEnv,
  clusterNodeStatus,
  clusterStackUp,
  restartService,
  stackDown,
  stackEnv,
  type StackOptions,
  stackStatus,
  stackUp,
  startClusterNode,
  startService,
  stopCluster,
  stopClusterNode,
  stopService,
} from "./stack.ts";
export { clusterBrokers, type ClusterNodeStatus, clusterRequested } from "./cluster.ts";
export type { ServiceName, ServiceStatus } from "./service.ts";
export { StackError } from "./errors.ts";

/**
 * Returns the env map the app needs. If `KAFKA_BROKERS`, `DATABASE_URL` and `S3_ENDPOINT` are
 * all set in `opts.env` (default: the process environment), the services are external: their
 * variables are returned and nothing is started. Otherwise the local stack is brought up
 * (idempotent, fast when already running) and its env map is returned.
 */
export async function ensureStack(opts: StackOptions = {}): Promise<Record<string, string>> {
  const external = externalEnv(opts.env ?? Deno.env.toObject());
  if (external) return external;
  return await stackUp(opts);
}
