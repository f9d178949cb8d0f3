/**
 * What a PostgreSQL failure means for the caller, from its SQLSTATE (and, without one, its
 * network error): retry it, blame the data, or give up.
 *
 * @module
 */

/**
 * - `transient`: retrying later can succeed — connection problems (class 08), insufficient
 *   resources (53), the server shutting down or restarting (57), serialization failures and
 *   deadlocks (40001, 40P01), lock timeouts (55P03), and network errors without a SQLSTATE
 *   (an errno code such as `EPIPE`, a postgres.js `CONNECTION_*` code, or their messages).
 * - `data`: the statement's values were refused — data exceptions (class 22: a NUL character,
 *   an unsupported Unicode escape, a value out of range) and integrity violations (class 23).
 *   Retrying the same values cannot help; the record they came from is to blame.
 * - `permanent`: anything else (a missing table or privilege, bad credentials): retrying
 *   cannot help either, and it is nobody's record's fault.
 */
export type PostgresFailure = "transient" | "data" | "permanent";

const TRANSIENT_CODES = new Set(["40001", "40P01", "55P03", "57014"]);
const NETWORK =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|CONNECTION_(CLOSED|ENDED|DESTROYED)|CONNECT_TIMEOUT|connection (closed|terminated|refused)|write after end|socket has been ended|socket hang up/i;

/**
 * Error codes of the socket layer: errno names (`EPIPE`, `ECONNRESET`, ...; no SQLSTATE class
 * starts with `E`, yet `EPIPE` has a SQLSTATE's shape) and Node's stream/socket codes.
 */
const SOCKET_CODE = /^(E[A-Z]+|ERR_(STREAM|SOCKET)_[A-Z_]+)$/;

/** Classifies a failure thrown by postgres.js. */
export function classifyPostgresError(e: unknown): PostgresFailure {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === "string" && SOCKET_CODE.test(code)) return "transient";
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) {
    const cls = code.slice(0, 2);
    if (cls === "22" || cls === "23") return "data";
    if (cls === "08" || cls === "53" || cls === "57" || TRANSIENT_CODES.has(code)) {
      return "transient";
    }
    return "permanent";
  }
  const text = `${typeof code === "string" ? code : ""} ${(e as Error)?.message ?? String(e)}`;
  return NETWORK.test(text) ? "transient" : "permanent";
}
