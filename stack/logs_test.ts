import assert from "node:assert/strict";
import { tellingLine } from "./logs.ts";

Deno.test("the telling log line is the exception message of the latest start", () => {
  const log = [
    "=== t1 starting ===",
    "java.lang.IllegalStateException: old failure",
    "=== t2 starting ===",
    "[t] ERROR Exiting Kafka due to fatal exception (Kafka$)",
    "java.lang.RuntimeException: Stored node id 7 doesn't match previous node id 1",
    "\tat org.apache.kafka.Foo.verify(Foo.java:1)",
    "",
  ].join("\n");
  assert.equal(
    tellingLine(log),
    "java.lang.RuntimeException: Stored node id 7 doesn't match previous node id 1",
  );
});

Deno.test("without an exception the last error line, else the last line, is telling", () => {
  assert.equal(
    tellingLine("a\nE1124 12:00:00 s3.go:1 boom\nI1124 fine\n"),
    "E1124 12:00:00 s3.go:1 boom",
  );
  assert.equal(tellingLine("=== x ===\nhello\nworld\n"), "world");
  assert.equal(tellingLine(""), "");
});

Deno.test("a port the service could not bind is the telling line, whatever failed after it", () => {
  const log = [
    "=== t1 starting ===",
    "[t] INFO Awaiting socket connections on 127.0.0.1:39492.",
    "java.lang.RuntimeException: Unable to start acceptor for MISADVERTISED",
    "Caused by: org.apache.kafka.common.KafkaException: Socket server failed to bind to " +
    "127.0.0.1:39494: Address already in use.",
    "Caused by: java.net.BindException: Address already in use",
    "[t] WARN Attempting to close NetworkClient that has already been closed.",
    "",
  ].join("\n");
  assert.equal(
    tellingLine(log),
    "org.apache.kafka.common.KafkaException: Socket server failed to bind to 127.0.0.1:39494: " +
      "Address already in use.",
  );
});
