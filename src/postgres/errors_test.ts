import assert from "node:assert/strict";
import { classifyPostgresError } from "./errors.ts";

Deno.test("PostgreSQL failures are classified by SQLSTATE class", () => {
  const cases: [unknown, string][] = [
    [{ code: "22P05", message: "unsupported Unicode escape sequence" }, "data"],
    [{ code: "22021", message: "invalid byte sequence for encoding UTF8: 0x00" }, "data"],
    [{ code: "22003", message: "numeric field overflow" }, "data"],
    [{ code: "23514", message: "violates check constraint" }, "data"],
    [{ code: "08006", message: "connection failure" }, "transient"],
    [
      { code: "57P01", message: "terminating connection due to administrator command" },
      "transient",
    ],
    [{ code: "53300", message: "too many connections" }, "transient"],
    [{ code: "40001", message: "could not serialize access" }, "transient"],
    [{ code: "40P01", message: "deadlock detected" }, "transient"],
    [{ code: "42P01", message: 'relation "x" does not exist' }, "permanent"],
    [{ code: "28P01", message: "password authentication failed" }, "permanent"],
  ];
  for (const [e, want] of cases) assert.equal(classifyPostgresError(e), want, JSON.stringify(e));
});

Deno.test("network errors without a SQLSTATE are transient, other errors permanent", () => {
  assert.equal(
    classifyPostgresError(new Error("connect ECONNREFUSED 127.0.0.1:15432")),
    "transient",
  );
  assert.equal(
    classifyPostgresError({ code: "CONNECTION_CLOSED", message: "closed" }),
    "transient",
  );
  assert.equal(classifyPostgresError({ code: "ECONNRESET", message: "reset" }), "transient");
  // a write to a connection the server closed while restarting (Deno's node:net, no code)
  assert.equal(
    classifyPostgresError(new Error("This socket has been ended by the other party")),
    "transient",
  );
  // the same write with its errno code (EPIPE has a SQLSTATE's shape but is no SQLSTATE)
  for (
    const code of ["EPIPE", "EBADF", "ECONNABORTED", "ERR_STREAM_DESTROYED", "ERR_SOCKET_CLOSED"]
  ) {
    assert.equal(
      classifyPostgresError({ code, message: "This socket has been ended by the other party" }),
      "transient",
      code,
    );
  }
  assert.equal(classifyPostgresError(new TypeError("x is undefined")), "permanent");
});
