/**
 * Port availability checks, so a port taken by someone else fails at once instead of after a
 * health-check timeout.
 *
 * @module
 */
import { type ServiceName, StackError } from "./errors.ts";

/** True when nothing listens on `hostname:port` (we can bind it ourselves). */
export function isPortFree(port: number, hostname = "127.0.0.1"): boolean {
  try {
    const listener = Deno.listen({ hostname, port, transport: "tcp" });
    listener.close();
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) return false;
    throw e;
  }
}

/** Fails with the port, its variable and the fix when one of `ports` is already taken. */
export function assertPortsFree(
  service: ServiceName,
  ports: { port: number; variable: string }[],
): void {
  for (const { port, variable } of ports) {
    if (!isPortFree(port)) {
      throw new StackError(
        `Cannot start ${service}: current value of port ${port} on 127.0.0.1 (from ${variable}) ` +
          `is already in use by another process; fix: stop that process ` +
          `(\`ss -ltnp | grep :${port}\`) or set ${variable} to a free port`,
        { service },
      );
    }
  }
}
