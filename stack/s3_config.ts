/**
 * Pure SeaweedFS settings: the S3 identities file (access-key auth) and the `weed mini`
 * command line (every port on 127.0.0.1, derived from the S3 port).
 *
 * @module
 */
import type { StackCredentials } from "./credentials.ts";
import type { SeaweedPorts } from "./ports.ts";

/** The actions of the stack's single S3 identity. */
export const S3_ACTIONS = ["Admin", "Read", "Write", "List", "Tagging"] as const;

/** Renders the `-s3.config` identities JSON: one identity `nexus` with full rights. */
export function renderS3Identities(credentials: StackCredentials): string {
  const config = {
    identities: [{
      name: "nexus",
      credentials: [{
        accessKey: credentials.s3AccessKeyId,
        secretKey: credentials.s3SecretAccessKey,
      }],
      actions: [...S3_ACTIONS],
    }],
  };
  return JSON.stringify(config, null, 2) + "\n";
}

/** Options for `weedMiniArgs`. */
export interface WeedArgsOptions {
  /** Data folder. */
  dataDir: string;
  /** S3 identities file. */
  s3ConfigFile: string;
  /** Folder for the filer/S3 unix sockets (keep it short: sun_path is 108 bytes). */
  socketDir: string;
  s3Port: number;
  ports: SeaweedPorts;
  /** Volume size limit in MB (small keeps memory and disk modest). Default 256. */
  volumeSizeLimitMB?: number;
}

/**
 * Builds the arguments of `weed mini`: master, volume, filer, S3 and the admin server in one
 * process, nothing bound beyond 127.0.0.1, WebDAV, Iceberg, Lance and telemetry off, buckets
 * only created explicitly, logs on stderr.
 */
export function weedMiniArgs(opts: WeedArgsOptions): string[] {
  const p = opts.ports;
  return [
    // Global glog flags go before the command; stderr is appended to .nexus/logs/s3.log.
    "-logtostderr=true",
    "mini",
    `-dir=${opts.dataDir}`,
    "-ip=127.0.0.1",
    "-ip.bind=127.0.0.1",
    `-master.port=${p.master}`,
    `-master.port.grpc=${p.masterGrpc}`,
    `-volume.port=${p.volume}`,
    `-volume.port.grpc=${p.volumeGrpc}`,
    `-filer.port=${p.filer}`,
    `-filer.port.grpc=${p.filerGrpc}`,
    `-filer.localSocket=${opts.socketDir}/weed-filer.sock`,
    `-s3.port=${opts.s3Port}`,
    `-s3.port.grpc=${p.s3Grpc}`,
    `-s3.localSocket=${opts.socketDir}/weed-s3.sock`,
    "-s3.port.iceberg=0",
    "-s3.port.lance=0",
    `-s3.config=${opts.s3ConfigFile}`,
    // Like real S3: writing to a missing bucket fails instead of creating it.
    "-s3.autoCreateBucket=false",
    "-webdav=false",
    "-admin.ui=false",
    // The embedded worker always dials admin at port+10000, so admin's gRPC port is left at
    // that default (setting -admin.port.grpc makes the worker retry and warn forever).
    `-admin.port=${p.admin}`,
    "-master.telemetry=false",
    `-master.volumeSizeLimitMB=${opts.volumeSizeLimitMB ?? 256}`,
  ];
}
