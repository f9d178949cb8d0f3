/**
 * The dashboard in a real browser (Debian's Chromium via playwright-core): while windows
 * keep arriving in Postgres, the chart's data points equal what Postgres holds, the page
 * refreshes itself, loads nothing from outside Nexus, and a screenshot is saved to
 * test-artifacts/dashboard.png.
 *
 * The views are stood in by tables with the aggregator's output columns (plus `topic`), so
 * this test does not depend on the aggregator's internal tables.
 */
import { freePort } from "./fixtures/free_port.ts";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createKafkaClient } from "../src/kafka/mod.ts";
import type { Config } from "../src/config/mod.ts";
import { createLogger, type Logger } from "../src/log/logger.ts";
import type { Sql } from "../src/postgres/mod.ts";
import type { RunningModule } from "../src/runtime/module.ts";
import { startHttpServer } from "../src/observe/http.ts";
import { Registry } from "../src/observe/metrics.ts";
import { launchBrowser } from "./_browser.ts";
import { freshDatabase, freshTopic, testConfig, uniqueName } from "./_support.ts";

// The page functions below run in the browser, where `document` exists.
// deno-lint-ignore no-explicit-any
declare const document: any;

const ACTIONS = ["view", "click", "add_to_cart", "remove_from_cart", "purchase"];
const START = Date.UTC(2026, 0, 1, 10, 0, 0);
const MIN = 60_000;

/** Deterministic counts with a visible shape. */
function countsAt(minute: number): Record<string, number> {
  const wave = 1 + 0.35 * Math.sin(minute / 6);
  return {
    view: Math.round(900 * wave),
    click: Math.round(420 * wave + 40 * Math.cos(minute / 3)),
    add_to_cart: Math.round(150 * wave),
    remove_from_cart: Math.round(40 + 10 * Math.sin(minute)),
    purchase: Math.round(60 * wave + 8 * Math.cos(minute / 2)),
  };
}

/**
 * Writes minutes [from, to) of `topic` into the aggregator's real tables (the views compute
 * from them): one partition's absolute partials, and a stored watermark that makes every
 * window before `finalBefore` final.
 */
async function seedMinutes(sql: Sql, topic: string, from: number, to: number, finalBefore: number) {
  await sql`insert into aggregator_topics (topic, partitions) values (${topic}, 1)
    on conflict (topic) do nothing`;
  for (let m = from; m < to; m++) {
    const ws = new Date(START + m * MIN).toISOString();
    const c = countsAt(m);
    const cents = c.purchase! * (1999 + (m % 7) * 350);
    for (const a of ACTIONS) {
      await sql`insert into window_partials
        (topic, partition, window_start, action, event_count, revenue_cents)
        values (${topic}, 0, ${ws}, ${a}, ${c[a]!}, ${a === "purchase" ? cents : 0})`;
    }
  }
  const watermark = new Date(START + finalBefore * MIN).toISOString();
  await sql`insert into consumer_checkpoints
      (processor, topic, partition, next_offset, replay_offset, watermark, owner_epoch)
    values ('aggregator', ${topic}, 0, 0, 0, ${watermark}, 1)
    on conflict (processor, topic, partition) do update set watermark = excluded.watermark`;
}

interface ChartData {
  actions: { t: string; action: string; count: number }[];
  revenue: { t: string; purchases: number; revenue: string }[];
}

/** What Postgres holds for the last hour of data, read independently of src/observe. */
async function expected(sql: Sql, topic: string): Promise<ChartData> {
  const actions = await sql<{ t: Date; action: string; count: string }[]>`
    select window_start as t, action, event_count::text as count from action_counts_minute
    where topic = ${topic} and window_start > (
      select max(window_start) - interval '60 minutes' from action_counts_minute where topic = ${topic})
    order by window_start, action`;
  const revenue = await sql<{ t: Date; purchases: string; revenue: string }[]>`
    select window_start as t, purchases::text, revenue::text from revenue_minute
    where topic = ${topic} and window_start > (
      select max(window_start) - interval '60 minutes' from revenue_minute where topic = ${topic})
    order by window_start`;
  return {
    actions: actions.map((r) => ({
      t: r.t.toISOString(),
      action: r.action,
      count: Number(r.count),
    })),
    revenue: revenue.map((r) => ({
      t: r.t.toISOString(),
      purchases: Number(r.purchases),
      revenue: r.revenue,
    })),
  };
}

function project(d: ChartData): ChartData {
  return {
    actions: d.actions.map(({ t, action, count }) => ({ t, action, count })),
    revenue: d.revenue.map(({ t, purchases, revenue }) => ({ t, purchases, revenue })),
  };
}

Deno.test({
  name: "browser: the dashboard charts what Postgres holds, refreshing while data flows",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const topic = await freshTopic(testConfig(), "obs_dash", 2);
    const db = await freshDatabase(
      "obs_dash",
      testConfig({
        "click-topic": topic,
        "aggregator-group": uniqueName("obs_dash"),
        modules: "aggregator",
      }),
    );
    const { sql, config } = db;
    await seedMinutes(sql, topic, 0, 70, 68); // 70 minutes: the chart shows the last 60
    await seedMinutes(sql, "some_other_topic", 60, 75, 0); // must not show
    await sql`insert into late_events (topic, event_id, partition, "offset", window_start,
        window_end, action, revenue_cents, watermark, lateness_ms, event)
      select ${topic}, 'late-' || i, 0, i, ${new Date(START).toISOString()}::timestamptz,
             ${new Date(START + MIN).toISOString()}::timestamptz, 'view', 0,
             ${new Date(START + 2 * MIN).toISOString()}::timestamptz, 60000, '{}'::jsonb
        from generate_series(1, 3) as i`;

    const kafka = createKafkaClient(config, { clientSuffix: "obs-dash" });
    const producer = kafka.producer();
    try {
      await producer.send(
        topic,
        Array.from({ length: 25 }, (_, i) => ({
          key: null,
          partition: i % 2,
          value: Buffer.from(`e${i}`),
        })),
      );
    } finally {
      await producer.close();
    }

    const aggregator: RunningModule = {
      name: "aggregator",
      done: new Promise(() => {}),
      stop: () => Promise.resolve(),
      status: () => ({
        eventsIn: 25,
        eventsOut: 70,
        deadLettered: 2,
        late: 3,
        lastFlushAt: Date.now(),
      }),
    };
    const server = await startHttpServer({
      config: { ...config, httpPort: freePort() },
      log: createLogger("browser-test", { level: "error" }),
      modules: () => [aggregator],
      registry: new Registry(),
    });
    assert.ok(server);
    const { context, close } = await launchBrowser();
    try {
      const page = await context.newPage();
      const foreign: string[] = [];
      page.on("request", (r) => {
        if (!r.url().startsWith(server.url)) foreign.push(r.url());
      });
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(e.message));
      await page.goto(`${server.url}/`);
      await page.waitForFunction(() => Number(document.body.dataset.updates) >= 1, null, {
        timeout: 20_000,
      });
      const read = async () =>
        JSON.parse(await page.locator("#chart-data").textContent() ?? "{}") as ChartData;

      let shown = await read();
      let want = await expected(sql, topic);
      assert.equal(want.actions.length, 60 * ACTIONS.length);
      assert.deepEqual(project(shown), want);
      assert.equal(await page.locator("#actions-chart circle").count(), want.actions.length);
      assert.equal(await page.locator("#revenue-chart rect").count(), want.revenue.length);
      assert.equal(
        await page.locator('#actions-chart circle[data-action="view"]').last().getAttribute(
          "data-count",
        ),
        String(want.actions.filter((p) => p.action === "view").at(-1)!.count),
      );

      // Data keeps flowing: two more minutes arrive; the page shows them without a reload.
      const before = Number(await page.evaluate(() => document.body.dataset.updates));
      await seedMinutes(sql, topic, 70, 72, 70);
      const lastT = new Date(START + 71 * MIN).toISOString();
      await page.waitForFunction(
        ([n, t]) =>
          Number(document.body.dataset.updates) > Number(n) &&
          (document.getElementById("chart-data")?.textContent ?? "").includes(String(t)),
        [before, lastT],
        { timeout: 20_000 },
      );
      shown = await read();
      want = await expected(sql, topic);
      assert.deepEqual(project(shown), want);
      assert.equal(shown.actions.at(-1)!.t, lastT);

      // Lag table, late and dead-letter figures.
      assert.equal(await page.locator("#lag-table tbody tr").count(), 2);
      assert.equal((await page.locator("#late-total").textContent())?.trim(), "3");
      assert.match(await page.locator("#modules-table tbody").textContent() ?? "", /aggregator/);
      assert.equal((await page.locator("#errors").textContent())?.trim(), "");

      await Deno.mkdir("test-artifacts", { recursive: true });
      await page.screenshot({ path: "test-artifacts/dashboard.png", fullPage: true });
      assert.deepEqual(foreign, [], "the page loaded something from outside Nexus");
      assert.deepEqual(pageErrors, []);
    } finally {
      await close();
      await server.stop();
      const admin = kafka.admin();
      await admin.deleteTopics([topic]).catch(() => {});
      await admin.close();
      await db.drop();
    }
  },
});

// ---------------------------------------------------------------------------------------
// The same page over the real generator and aggregator, when they exist (loaded lazily so
// this file does not depend on their internals at type-check time).

type Starter = (ctx: { config: Config; log: Logger }) => Promise<RunningModule>;
const real = await (async () => {
  try {
    const agg = await import("../src/aggregator/mod.ts") as { startAggregator?: Starter };
    const gen = await import("../src/generator/mod.ts") as {
      defaultStreamParams?: (o: Record<string, unknown>) => unknown;
      produceStream?: (c: Config, t: string, p: unknown) => Promise<{ records: number }>;
    };
    if (agg.startAggregator && gen.defaultStreamParams && gen.produceStream) {
      return {
        startAggregator: agg.startAggregator,
        params: gen.defaultStreamParams,
        produce: gen.produceStream,
      };
    }
    return "startAggregator / produceStream not exported yet";
  } catch (e) {
    return `aggregator or generator not loadable: ${(e as Error).message.split("\n")[0]}`;
  }
})();

Deno.test({
  name: typeof real === "string"
    ? `browser: dashboard over the real aggregator (skipped: ${real})`
    : "browser: dashboard over the real aggregator shows what its views hold, live",
  ignore: typeof real === "string",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (typeof real === "string") return;
    const base = testConfig();
    const topic = uniqueName("obs_real");
    const db = await freshDatabase(
      "obs_real",
      testConfig({
        "click-topic": topic,
        "aggregator-group": uniqueName("obs_real"),
        modules: "aggregator",
        partitions: "3",
        "allowed-lateness-ms": "5000",
        "flush-interval-ms": "200",
      }),
    );
    const { sql, config } = db;
    const batch = (seed: number, start: string) =>
      real.params({
        seed,
        events: 6000,
        start,
        eventsPerSecond: 8,
        lateFraction: 0.01,
        maxLatenessMs: 60_000,
        duplicateFraction: 0.01,
        malformedFraction: 0.005,
      });
    let produced = (await real.produce(config, topic, batch(11, "2026-01-01T00:00:00.000Z")))
      .records;
    const log = createLogger("browser-real", { level: "warn" });
    const running: RunningModule[] = [];
    const server = await startHttpServer({
      config: { ...config, httpPort: freePort() },
      log,
      modules: () => running,
      registry: new Registry(),
    });
    assert.ok(server);
    const { context, close } = await launchBrowser();
    try {
      running.push(await real.startAggregator({ config, log }));
      const caughtUp = async () => {
        for (let i = 0; i < 300 && running[0]!.status().eventsIn < produced; i++) {
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(running[0]!.status().eventsIn, produced);
        await new Promise((r) => setTimeout(r, 600)); // one more flush
      };
      await caughtUp();
      const page = await context.newPage();
      await page.goto(`${server.url}/`);
      await page.waitForFunction(() => Number(document.body.dataset.updates) >= 1, null, {
        timeout: 20_000,
      });
      const viewData = async (): Promise<ChartData> => {
        const a = await sql<{ t: Date; action: string; count: string }[]>`
          select window_start as t, action, event_count::text as count from action_counts_minute
          where topic = ${topic} order by window_start, action`;
        const r = await sql<{ t: Date; purchases: string; revenue: string }[]>`
          select window_start as t, purchases::text, revenue::text from revenue_minute
          where topic = ${topic} order by window_start`;
        return {
          actions: a.map((x) => ({
            t: x.t.toISOString(),
            action: x.action,
            count: Number(x.count),
          })),
          revenue: r.map((x) => ({
            t: x.t.toISOString(),
            purchases: Number(x.purchases),
            revenue: x.revenue,
          })),
        };
      };
      const shown = async () =>
        project(JSON.parse(await page.locator("#chart-data").textContent() ?? "{}"));
      const settled = async () => {
        // Wait for a refresh after the data stopped changing, then compare.
        const n = Number(await page.evaluate(() => document.body.dataset.updates));
        await page.waitForFunction((k) => Number(document.body.dataset.updates) > k, n, {
          timeout: 20_000,
        });
        assert.deepEqual(await shown(), await viewData());
      };
      await settled();
      const first = await viewData();
      assert.ok(first.actions.length > 0 && first.actions.length <= 60 * ACTIONS.length);

      // More events arrive for later minutes; the open page shows them.
      produced +=
        (await real.produce(config, topic, batch(12, "2026-01-01T00:12:00.000Z"))).records;
      await caughtUp();
      await settled();
      const second = await viewData();
      assert.ok(second.actions.at(-1)!.t > first.actions.at(-1)!.t);
      await page.screenshot({ path: "test-artifacts/dashboard-aggregator.png", fullPage: true });
    } finally {
      await close();
      for (const m of running) await m.stop().catch(() => {});
      await server.stop();
      const admin = createKafkaClient(base, { clientSuffix: "obs-real" }).admin();
      await admin.deleteTopics([topic, config.dlqTopic]).catch(() => {});
      await admin.close();
      await db.drop();
    }
  },
});
