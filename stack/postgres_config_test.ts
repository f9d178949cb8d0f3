import assert from "node:assert/strict";
import {
  ancestors,
  firstUntraversable,
  postgresSettings,
  renderPostgresConf,
  socketPathFits,
} from "./postgres_config.ts";

Deno.test("postgres listens on 127.0.0.1 with 200 connections by default", () => {
  const s = postgresSettings({ port: 15432, socketDir: "/x/run/pg" });
  assert.equal(s.listen_addresses, "127.0.0.1");
  assert.equal(s.port, "15432");
  assert.equal(s.max_connections, "200");
  assert.equal(s.unix_socket_directories, "/x/run/pg");
  assert.equal(postgresSettings({ port: 1, socketDir: undefined }).unix_socket_directories, "");
});

Deno.test("postgres settings are single-quoted with quotes doubled", () => {
  assert.equal(renderPostgresConf({ a: "it's" }, "h"), "# h\na = 'it''s'\n");
});

Deno.test("a socket path longer than sun_path is detected", () => {
  assert.ok(socketPathFits("/work/main/.nexus/run/pg", 15432));
  assert.ok(!socketPathFits("/" + "d".repeat(100), 15432));
});

Deno.test("the first folder the postgres user cannot traverse is reported", () => {
  assert.deepEqual(ancestors("/a/b"), ["/", "/a", "/a/b"]);
  const entries = [
    { path: "/", mode: 0o755, uid: 0 },
    { path: "/root", mode: 0o700, uid: 0 },
    { path: "/root/x", mode: 0o700, uid: 101 },
  ];
  assert.equal(firstUntraversable(entries, 101)?.path, "/root");
  assert.equal(firstUntraversable([entries[0]!, entries[2]!], 101), undefined);
});
