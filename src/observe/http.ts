/**
 * The HTTP endpoints: `/healthz`, `/readyz`, `/metrics`, `/api/*` (JSON for the dashboard)
 * and the dashboard at `/`. Read-only: every route answers GET/HEAD only.
 *
 * Binds to `NEXUS_HTTP_HOST:NEXUS_HTTP_PORT` (default 127.0.0.1:9464; port 0 disables). A
 * host that is not a loopback address is refused unless `NEXUS_HTTP_ALLOW_PUBLIC=true`, so
 * the endpoints never leave the machine by accident (e.g. a stray `NEXUS_HTTP_HOST=0.0.0.0`).
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import { ConfigError } from "../config/mod.ts";
import type { Logger } from "../log/logger.ts";
import { reasonOf } from "../runtime/errors.ts";
import type { RunningModule } from "../runtime/module.ts";
import { dashboardHandler } from "../dashboard/handler.ts";
import { actionsPerMinute, lateCounts, moduleSummaries, revenuePerMinute } from "./api.ts";
import { CONTENT_TYPE, type Registry } from "./metrics.ts";
import { modulesCheck, type ReadinessCheck, ReadinessProbe, serviceChecks } from "./readiness.ts";
import { ObserveResources } from "./resources.ts";
import { MetricsScraper } from "./scrape.ts";

/** Options of `startHttpServer`. */
export interface HttpOptions {
  config: Config;
  log: Logger;
  /** The modules running now (read at each request). */
  modules: () => RunningModule[];
  /** Readiness checks; default: the services `config.modules` need, plus modules running. */
  readiness?: ReadinessCheck[];
  /** A prom-client registry whose metrics `/metrics` serves after Nexus's own; default none. */
  registry?: Registry;
  /** Allow a non-loopback host; default the `httpAllowPublic` setting (NEXUS_HTTP_ALLOW_PUBLIC). */
  allowPublic?: boolean;
  /** Shared clients; default created (and closed) by the server. */
  resources?: ObserveResources;
}

/** A running HTTP server. */
export interface HttpServer {
  /** Base URL, e.g. `http://127.0.0.1:9464`. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Throws a ConfigError when `host` is not loopback and public binding was not asked for. */
export function assertBindable(host: string, allowPublic: boolean): void {
  if (isLoopback(host) || allowPublic) return;
  throw new ConfigError(
    "NEXUS_HTTP_HOST",
    `Cannot start: NEXUS_HTTP_HOST (--http-host) is ${
      JSON.stringify(host)
    }: not a loopback address, so metrics and the dashboard would be reachable from other machines. Fix: use 127.0.0.1, or set NEXUS_HTTP_ALLOW_PUBLIC=true if you mean it.`,
  );
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

/** Sum over partitions of (end − low) of the dead-letter topic; null when it does not exist. */
async function dlqRecords(res: ObserveResources): Promise<number | null> {
  return await res.withAdmin(async (admin) => {
    const topics = await admin.listTopics();
    if (!topics.includes(res.config.dlqTopic)) return null;
    const offs = await admin.offsets(res.config.dlqTopic);
    let n = 0;
    for (const o of offs.values()) n += Number(o.high - o.low);
    return n;
  });
}

/** Starts the server; resolves once it listens, or to `undefined` when the port is 0. */
export async function startHttpServer(opts: HttpOptions): Promise<HttpServer | undefined> {
  const { config, log } = opts;
  if (config.httpPort === 0) {
    log.info("HTTP endpoints disabled (NEXUS_HTTP_PORT=0)");
    return undefined;
  }
  const allowPublic = opts.allowPublic ?? config.httpAllowPublic;
  assertBindable(config.httpHost, allowPublic);

  const ownResources = !opts.resources;
  const res = opts.resources ?? new ObserveResources(config, opts.modules);
  const probe = new ReadinessProbe(
    opts.readiness ?? [...serviceChecks(config), modulesCheck(opts.modules)],
  );
  const scraper = new MetricsScraper({
    configured: config.modules,
    running: opts.modules,
    lag: () => res.lag(),
    extra: opts.registry,
    onError: (what, e) => log.debug("metrics: figures left out", { what, error: reasonOf(e) }),
  });
  const dashboard = dashboardHandler();

  const routes: Record<string, (req: Request) => Promise<Response>> = {
    "/healthz": () => Promise.resolve(json({ status: "alive" })),
    "/readyz": async () => {
      const r = await probe.evaluate();
      return json({ status: r.ready ? "ready" : "not ready", ...r }, r.ready ? 200 : 503);
    },
    "/metrics": async () =>
      new Response(await scraper.render(), { headers: { "content-type": CONTENT_TYPE } }),
    "/api/actions": async () =>
      json({ points: await actionsPerMinute(res.sql(), config.clickTopic) }),
    "/api/revenue": async () =>
      json({ points: await revenuePerMinute(res.sql(), config.clickTopic) }),
    "/api/lag": async () => json({ partitions: await res.lag() }),
    "/api/modules": () => Promise.resolve(json({ modules: moduleSummaries(opts.modules()) })),
    "/api/counts": async () =>
      json({
        late: await lateCounts(res.sql(), config.clickTopic),
        deadLetterTopic: await dlqRecords(res),
      }),
    "/api/dashboard": async () => {
      const errors: string[] = [];
      const safe = <T>(what: string, p: Promise<T>, fallback: T) =>
        p.catch((e) => {
          errors.push(`${what}: ${reasonOf(e)}`);
          return fallback;
        });
      const sql = res.sql();
      const [actions, revenue, lag, late, dlq] = await Promise.all([
        safe("actions", actionsPerMinute(sql, config.clickTopic), []),
        safe("revenue", revenuePerMinute(sql, config.clickTopic), []),
        safe("lag", res.lag(), []),
        safe("late", lateCounts(sql, config.clickTopic), null),
        safe("dead letters", dlqRecords(res), null),
      ]);
      return json({
        generatedAt: new Date().toISOString(),
        actions,
        revenue,
        lag,
        late,
        deadLetterTopic: dlq,
        modules: moduleSummaries(opts.modules()),
        errors,
      });
    },
  };

  const handler = async (req: Request): Promise<Response> => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    const path = new URL(req.url).pathname;
    const route = routes[path];
    try {
      if (route) return await route(req);
      return await dashboard(path);
    } catch (e) {
      log.warn("HTTP request failed", { path, error: reasonOf(e) });
      return json({ error: reasonOf(e) }, 503);
    }
  };

  const ac = new AbortController();
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: config.httpHost,
    port: config.httpPort,
    signal: ac.signal,
    onListen: (addr) => listening.resolve(addr as Deno.NetAddr),
    onError: (e) => {
      log.warn("HTTP handler error", { error: reasonOf(e) });
      return new Response("internal error\n", { status: 500 });
    },
  }, handler);
  const addr = await Promise.race([
    listening.promise,
    server.finished.then(() => {
      throw new Error("HTTP server stopped before listening");
    }),
  ]);
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const url = `http://${host}:${addr.port}`;
  log.info("HTTP endpoints listening", { url, dashboard: `${url}/`, metrics: `${url}/metrics` });
  let stopped: Promise<void> | undefined;
  return {
    url,
    port: addr.port,
    stop() {
      stopped ??= (async () => {
        ac.abort();
        await server.finished.catch(() => {});
        if (ownResources) await res.close();
      })();
      return stopped;
    },
  };
}
