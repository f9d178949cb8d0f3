/**
 * The self-signed CA and broker certificate of the local Kafka's TLS listener, generated once
 * with `openssl` into `.nexus/stack/tls/` (CA and broker key 0600; the CA certificate is what
 * clients trust via KAFKA_TLS_CA_FILE).
 *
 * @module
 */
import { join } from "node:path";
import { outputHint, runCommand } from "./command.ts";
import { StackError } from "./errors.ts";
import { pathExists, type StackPaths } from "./paths.ts";

async function openssl(args: string[], cwd: string, env?: Record<string, string>) {
  const result = await runCommand("openssl", args, {
    cwd,
    env,
    timeoutMs: 60_000,
    purpose: "the Kafka TLS certificate generation",
    installHint: "apt-get install openssl",
  });
  if (result.code !== 0) {
    throw new StackError(
      `Cannot create the Kafka TLS certificates: current value is openssl ${args[0]} exit code ` +
        `${result.code} (${outputHint(result)}); fix: delete .nexus/stack/tls and retry`,
      { service: "kafka" },
    );
  }
}

/**
 * Creates the CA, the broker key and certificate (SAN IP:127.0.0.1, DNS:localhost) and the
 * PKCS12 keystore the broker loads, unless the keystore already exists. Returns true when it
 * generated them.
 */
export async function ensureKafkaTls(paths: StackPaths, keystorePassword: string) {
  const t = paths.config.tls;
  if (await pathExists(t.keystore) && await pathExists(t.caCert)) return false;
  await Deno.mkdir(t.dir, { recursive: true, mode: 0o700 });
  const days = "3650";
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    t.caKey,
    "-out",
    t.caCert,
    "-days",
    days,
    "-subj",
    "/CN=Nexus local stack CA",
  ], t.dir);
  const csr = join(t.dir, "broker.csr");
  const ext = join(t.dir, "broker.ext");
  await openssl([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    t.brokerKey,
    "-out",
    csr,
    "-subj",
    "/CN=127.0.0.1",
  ], t.dir);
  await Deno.writeTextFile(ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  await openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    t.caCert,
    "-CAkey",
    t.caKey,
    "-CAcreateserial",
    "-out",
    t.brokerCert,
    "-days",
    days,
    "-extfile",
    ext,
  ], t.dir);
  await openssl(
    [
      "pkcs12",
      "-export",
      "-in",
      t.brokerCert,
      "-inkey",
      t.brokerKey,
      "-certfile",
      t.caCert,
      "-name",
      "broker",
      "-out",
      t.keystore,
      "-passout",
      "env:NEXUS_KEYSTORE_PASSWORD", // not on the command line, where `ps` would show it
    ],
    t.dir,
    { NEXUS_KEYSTORE_PASSWORD: keystorePassword },
  );
  for (const f of [t.caKey, t.brokerKey, t.keystore]) await Deno.chmod(f, 0o600);
  await Deno.remove(csr).catch(() => {});
  return true;
}
