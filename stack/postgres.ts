/**
 * The local PostgreSQL 15: `initdb` with SCRAM password auth and superuser `nexus`, data in
 * `.nexus/data/postgres`, run by `pg_ctl` on 127.0.0.1 (as the `postgres` user when we are
 * root, since PostgreSQL refuses to run as root), logs in `.nexus/logs/postgres.log`.
 *
 * @module
 */
import { join } from "node:path";
import postgres from "postgres";
import { outputHint, runCommand } from "./command.ts";
import { writeSecretFile } from "./credentials.ts";
import { reasonOf, StackError } from "./errors.ts";
import { waitHealthy } from "./health.ts";
import { appendBanner } from "./logs.ts";
import { assertPortsFree } from "./net.ts";
import { displayPath, pathExists } from "./paths.ts";
import {
  ancestors,
  firstUntraversable,
  PG_BIN,
  PG_SYSTEM_USER,
  PG_USER,
  postgresSettings,
  renderPostgresConf,
  socketPathFits,
} from "./postgres_config.ts";
import { isOurProcess, readPidFile, removeIfExists } from "./process.ts";
import { readRunRecord, removeRunRecord, serviceStatus, writeRunRecord } from "./run_record.ts";
import type { Service, ServiceStatus, StackContext } from "./service.ts";
import { waitUntil } from "./wait.ts";

const CONF_FILE = "nexus.conf";

interface SystemUser {
  uid: number;
  gid: number;
}

/** Looks a user up in /etc/passwd. */
async function systemUser(name: string): Promise<SystemUser | undefined> {
  const passwd = await Deno.readTextFile("/etc/passwd").catch(() => "");
  for (const line of passwd.split("\n")) {
    const [user, , uid, gid] = line.split(":");
    if (user === name) return { uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

/** The user PostgreSQL runs as: `postgres` when we are root, else undefined (ourselves). */
async function runAsUser(ctx: StackContext): Promise<SystemUser | undefined> {
  if (!ctx.isRoot) return undefined;
  const user = await systemUser(PG_SYSTEM_USER);
  if (!user) {
    throw new StackError(
      `Cannot run postgres as root: current value is uid 0 with no "${PG_SYSTEM_USER}" system ` +
        `user; fix: apt-get install postgresql-15 (creates it) or run the stack as a normal user`,
      { service: "postgres" },
    );
  }
  return user;
}

/** Runs a PostgreSQL tool, as the `postgres` user when we are root. */
async function pgTool(ctx: StackContext, tool: string, args: string[], detached = false) {
  const binary = join(PG_BIN, tool);
  const hint = "apt-get install postgresql-15";
  const opts = {
    cwd: ctx.paths.data.root,
    detached,
    purpose: `PostgreSQL ${tool}`,
    installHint: hint,
  };
  try {
    await Deno.stat(binary);
  } catch {
    throw new StackError(
      `Cannot run PostgreSQL ${tool}: current value is "${binary}", which does not exist; ` +
        `fix: ${hint}`,
      { service: "postgres" },
    );
  }
  if (!ctx.isRoot) return await runCommand(binary, args, opts);
  return await runCommand("setpriv", [
    `--reuid=${PG_SYSTEM_USER}`,
    `--regid=${PG_SYSTEM_USER}`,
    "--init-groups",
    "--",
    binary,
    ...args,
  ], opts);
}

/** Gives `path` to the postgres user (when root) so the server can write it. */
async function giveToPg(ctx: StackContext, path: string): Promise<void> {
  const user = await runAsUser(ctx);
  if (user) await Deno.chown(path, user.uid, user.gid);
}

/**
 * Makes sure the postgres user can reach its data, socket and log folders: folders inside `.nexus` get o+x,
 * anything above it must already allow it (we do not change permissions outside the project).
 */
async function ensureTraversable(ctx: StackContext): Promise<void> {
  const user = await runAsUser(ctx);
  if (!user) return;
  const { paths } = ctx;
  const needed = new Set(
    [paths.data.root, paths.run.root, paths.logs.root].flatMap((p) => ancestors(p)),
  );
  const entries = [];
  for (const path of [...needed].sort()) {
    if (!await pathExists(path)) continue;
    const info = await Deno.stat(path);
    let mode = (info.mode ?? 0) & 0o7777;
    if ((path === paths.nexus || path.startsWith(paths.nexus + "/")) && !(mode & 0o001)) {
      mode |= 0o001;
      await Deno.chmod(path, mode);
    }
    entries.push({ path, mode, uid: info.uid ?? 0 });
  }
  const blocked = firstUntraversable(entries, user.uid);
  if (blocked) {
    throw new StackError(
      `Cannot run postgres as user ${PG_SYSTEM_USER}: current value of ${blocked.path} is mode ` +
        `${blocked.mode.toString(8)} (not traversable by others); fix: chmod o+x ${blocked.path} ` +
        `or run the stack as a non-root user`,
      { service: "postgres" },
    );
  }
}

/** Creates the cluster with `initdb` (SCRAM auth, superuser `nexus`) unless it exists. */
async function install(ctx: StackContext): Promise<void> {
  const { paths } = ctx;
  const data = paths.data.postgres;
  if (await pathExists(join(data, "PG_VERSION"))) return;
  ctx.log("postgres: initdb (first run only)");
  await Deno.mkdir(data, { recursive: true, mode: 0o700 });
  await Deno.chmod(data, 0o700);
  await giveToPg(ctx, data);
  await ensureTraversable(ctx);
  const { postgresPassword } = await ctx.credentials();
  const pwfile = join(paths.data.root, `.pg-initdb-pw-${Deno.pid}`);
  await writeSecretFile(pwfile, postgresPassword + "\n");
  await giveToPg(ctx, pwfile);
  try {
    const result = await pgTool(ctx, "initdb", [
      "-D",
      data,
      "-U",
      PG_USER,
      "--auth=scram-sha-256",
      `--pwfile=${pwfile}`,
      "-E",
      "UTF8",
      "--no-locale",
      "--no-instructions",
    ]);
    if (result.code !== 0) {
      throw new StackError(
        `Cannot initialise postgres: current value is initdb exit code ${result.code} ` +
          `(${outputHint(result)}); fix: delete ${displayPath(paths, data)} and retry`,
        { service: "postgres" },
      );
    }
  } finally {
    await removeIfExists(pwfile);
  }
  const mainConf = join(data, "postgresql.conf");
  await Deno.writeTextFile(mainConf, `\n# Added by the Nexus stack.\ninclude '${CONF_FILE}'\n`, {
    append: true,
  });
}

function markers(ctx: StackContext): string[] {
  return [join(PG_BIN, "postgres"), ctx.paths.data.postgres];
}

/** The postmaster pid from `postmaster.pid`, if that process is running. */
async function postmasterPid(ctx: StackContext): Promise<number | undefined> {
  const pid = await readPidFile(join(ctx.paths.data.postgres, "postmaster.pid"));
  return pid !== undefined && await isOurProcess(pid, markers(ctx)) ? pid : undefined;
}

/** Writes `nexus.conf` (port, socket, limits) and starts the server with `pg_ctl -w`. */
async function start(ctx: StackContext): Promise<void> {
  const { paths, ports } = ctx;
  if (await postmasterPid(ctx) !== undefined) return;
  await removeRunRecord(paths, "postgres");
  for (const dir of [paths.run.pgSocketDir, paths.logs.root]) {
    await Deno.mkdir(dir, { recursive: true });
  }
  await giveToPg(ctx, paths.run.pgSocketDir);
  await ensureTraversable(ctx);
  const socketDir = socketPathFits(paths.run.pgSocketDir, ports.postgres)
    ? paths.run.pgSocketDir
    : undefined;
  const conf = join(paths.data.postgres, CONF_FILE);
  await Deno.writeTextFile(
    conf,
    renderPostgresConf(
      postgresSettings({ port: ports.postgres, socketDir }),
      "Generated by `deno task stack up` (stack/postgres.ts); edits are lost.",
    ),
  );
  await giveToPg(ctx, conf);
  assertPortsFree("postgres", [{ port: ports.postgres, variable: "NEXUS_STACK_PG_PORT" }]);
  await appendBanner(
    paths.logs.postgres,
    `nexus stack: starting postgres on 127.0.0.1:${ports.postgres}`,
  );
  await giveToPg(ctx, paths.logs.postgres);
  const result = await pgTool(ctx, "pg_ctl", [
    "start",
    "-D",
    paths.data.postgres,
    "-l",
    paths.logs.postgres,
    "-w",
    "-t",
    "60",
  ], true);
  const pid = await postmasterPid(ctx);
  if (result.code !== 0 || pid === undefined) {
    throw new StackError(
      `Cannot start postgres: current value is pg_ctl exit code ${result.code} ` +
        `(${outputHint(result)}); fix: read ${displayPath(paths, paths.logs.postgres)}`,
      { service: "postgres", logFile: paths.logs.postgres },
    );
  }
  await writeRunRecord(paths, "postgres", { pid, port: ports.postgres, ports: [ports.postgres] });
}

async function clientPort(ctx: StackContext): Promise<number> {
  return (await readRunRecord(ctx.paths, "postgres"))?.port ?? ctx.ports.postgres;
}

/** Runs `fn` with a one-connection postgres.js client over TCP with the stack's password. */
async function withSql<T>(
  ctx: StackContext,
  database: string,
  fn: (sql: postgres.Sql) => Promise<T>,
): Promise<T> {
  const { postgresPassword } = await ctx.credentials();
  const sql = postgres({
    host: "127.0.0.1",
    port: await clientPort(ctx),
    user: PG_USER,
    password: postgresPassword,
    database,
    max: 1,
    connect_timeout: 3,
    idle_timeout: 1,
    onnotice: () => {},
  });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

/** Healthy when `select 1` works over TCP with the password on database `nexus`. */
async function check(ctx: StackContext): Promise<string | undefined> {
  try {
    await withSql(ctx, PG_USER, (sql) => sql`select 1 as ok`);
    return undefined;
  } catch (e) {
    return reasonOf(e);
  }
}

function wrongPassword(ctx: StackContext): StackError {
  return new StackError(
    `Cannot connect to postgres as ${PG_USER}: current value is a password from ` +
      `${displayPath(ctx.paths, ctx.paths.config.credentials)} that the existing data folder ` +
      `rejects; fix: restore the old credentials file, or delete ` +
      `${displayPath(ctx.paths, ctx.paths.data.postgres)} (loses its data) and run up again`,
    { service: "postgres", logFile: ctx.paths.logs.postgres },
  );
}

/** Waits for the server, then creates database `nexus` if it is missing. */
async function waitReady(ctx: StackContext, timeoutMs: number): Promise<void> {
  const alive = async () => await postmasterPid(ctx) !== undefined;
  const adminCheck = async () => {
    try {
      await withSql(ctx, "postgres", (sql) => sql`select 1 as ok`);
      return undefined;
    } catch (e) {
      if (/password authentication failed/i.test(reasonOf(e))) throw wrongPassword(ctx);
      return reasonOf(e);
    }
  };
  const base = { name: "postgres" as const, paths: ctx.paths, logFile: ctx.paths.logs.postgres };
  await waitHealthy({ ...base, timeoutMs, check: adminCheck, alive });
  await withSql(ctx, "postgres", async (sql) => {
    const rows = await sql`select 1 from pg_database where datname = ${PG_USER}`;
    if (rows.length === 0) {
      ctx.log(`postgres: creating database ${PG_USER}`);
      await sql.unsafe(`create database "${PG_USER}"`);
    }
  });
  await waitHealthy({ ...base, timeoutMs: 10_000, check: () => check(ctx), alive });
}

/** `pg_ctl stop -m fast` (then `-m immediate`), waiting until the postmaster is gone. */
async function stop(ctx: StackContext): Promise<"not-running" | "stopped" | "killed"> {
  const pid = await postmasterPid(ctx);
  if (pid === undefined) {
    await removeRunRecord(ctx.paths, "postgres");
    return "not-running";
  }
  let outcome: "stopped" | "killed" = "stopped";
  const gone = async () => !await isOurProcess(pid, markers(ctx));
  const data = ctx.paths.data.postgres;
  await pgTool(ctx, "pg_ctl", ["stop", "-D", data, "-m", "fast", "-w", "-t", "30"]);
  if (!await waitUntil(gone, { timeoutMs: 5_000 })) {
    outcome = "killed";
    await pgTool(ctx, "pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w", "-t", "30"]);
    if (!await waitUntil(gone, { timeoutMs: 10_000 })) {
      throw new StackError(
        `Cannot stop postgres: current value is pid ${pid} still running after pg_ctl stop ` +
          `-m immediate; fix: read ${displayPath(ctx.paths, ctx.paths.logs.postgres)}`,
        { service: "postgres", logFile: ctx.paths.logs.postgres },
      );
    }
  }
  await removeRunRecord(ctx.paths, "postgres");
  return outcome;
}

async function status(ctx: StackContext): Promise<ServiceStatus> {
  return serviceStatus(ctx.paths, "postgres", await postmasterPid(ctx), {
    port: ctx.ports.postgres,
    wanted: [ctx.ports.postgres],
    address: (port) => `127.0.0.1:${port}`,
    logFile: ctx.paths.logs.postgres,
  });
}

/** PostgreSQL as a stack service. */
export const postgresService: Service = {
  name: "postgres",
  install,
  start,
  check,
  waitReady,
  stop,
  status,
};
