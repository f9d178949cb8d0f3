import assert from "node:assert/strict";
import { resolveConfig } from "../config/mod.ts";
import { servicesFor } from "./services.ts";

const config = resolveConfig({ env: {} });

Deno.test("consumers alone need the click topic to exist; next to the generator they do not", () => {
  assert.deepEqual(servicesFor(config, ["aggregator", "archiver"]), {
    kafka: true,
    postgres: true,
    buckets: ["nexus-archive"],
    requireTopics: ["clicks_topic"],
  });
  assert.deepEqual(servicesFor(config, ["generator", "aggregator"]).requireTopics, []);
});

Deno.test("the loader needs PostgreSQL and the raw bucket but not Kafka", () => {
  assert.deepEqual(servicesFor(config, ["loader"]), {
    kafka: false,
    postgres: true,
    buckets: ["raw-data"],
    requireTopics: [],
  });
});
