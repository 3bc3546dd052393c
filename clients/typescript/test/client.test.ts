// Every RPC against a real llm-router: LLM_ROUTER_ADDRESS, or one started from the repository's venv.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import {
  AlreadyExistsError,
  DeadlineExceededError,
  Health,
  HealthCheckResponse_ServingStatus,
  InvalidArgumentError,
  NotFoundError,
  RouterClient,
  RouterError,
  UnavailableError,
  modelRef,
  pb,
  user,
} from "../src/index.js";
import { startServer, type TestServer } from "./server.js";

let server: TestServer | undefined;
const clients: RouterClient[] = [];

function connect(options: { tenant?: string; address?: string; maxAttempts?: number; timeoutMs?: number } = {}) {
  const client = new RouterClient({ address: server!.address, timeoutMs: 20_000, ...options });
  clients.push(client);
  return client;
}

const uniqueTenant = () => `ts-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

before(async () => {
  server = await startServer();
});

after(async () => {
  clients.forEach((c) => c.close());
  await server?.stop();
});

describe("llm-router TypeScript client", () => {
  test("health: grpc.health.v1 says SERVING for the server and the service", async (t) => {
    if (!server) return t.skip("no llm-router: set LLM_ROUTER_ADDRESS");
    const client = connect();
    const health = createClient(Health, client.transport);
    for (const service of ["", "llmrouter.v1.RouterService"]) {
      const res = await health.check({ service }, { timeoutMs: 5_000 });
      assert.equal(res.status, HealthCheckResponse_ServingStatus.SERVING, service);
    }
    assert.equal(await client.checkHealth(), HealthCheckResponse_ServingStatus.SERVING);
  });

  test("route returns a decision with the analysis", async (t) => {
    if (!server) return t.skip("no llm-router");
    const res = await connect().route({
      messages: [user("Explain how a hash map handles collisions.")],
      preferences: { strategy: pb.Strategy.QUALITY_OPTIMIZED },
    });
    assert.ok(res.requestId);
    assert.equal(res.decision?.selected?.provider, "demo");
    assert.equal(res.decision?.strategy, pb.Strategy.QUALITY_OPTIMIZED);
    assert.ok((res.decision?.analysis?.features?.words ?? 0) > 0);
    assert.ok(res.decision?.reason);
  });

  test("complete, then feedback on its request id; the id cannot spend twice", async (t) => {
    if (!server) return t.skip("no llm-router");
    const client = connect({ tenant: uniqueTenant() });
    const requestId = `ts-complete-${Date.now()}`;
    const res = await client.complete({
      messages: [user("hello")],
      requestId,
      preferences: { forceModel: modelRef("demo/demo-balanced") },
    });
    assert.equal(res.requestId, requestId);
    assert.match(res.text, /^\[demo:demo-balanced\]/);
    assert.equal(res.summary?.model?.model, "demo-balanced");
    assert.ok((res.summary?.usage?.outputTokens ?? 0n) > 0n);
    assert.equal(res.summary?.attempts.length, 1);

    const first = await client.feedback(requestId, 5, "good");
    assert.equal(first.model?.model, "demo-balanced");
    assert.equal(first.replaced, false);
    assert.equal((await client.feedback(requestId, 3)).replaced, true);

    await assert.rejects(client.complete({ messages: [user("hello")], requestId }), AlreadyExistsError);
  });

  test("stream: decision, text deltas, then the summary with usage and cost", async (t) => {
    if (!server) return t.skip("no llm-router");
    const stream = connect().stream("Write a short poem about routers.");
    const deltas: string[] = [];
    for await (const text of stream) {
      deltas.push(text);
    }
    assert.ok(deltas.length >= 2, `deltas: ${deltas.length}`);
    assert.equal(deltas.join(""), stream.text);
    assert.ok(stream.decision?.selected, "the decision comes first");
    assert.equal(stream.model?.provider, "demo");
    assert.ok(stream.requestId);
    const summary = stream.summary;
    assert.ok(summary, "the summary comes last");
    assert.ok((summary.usage?.outputTokens ?? 0n) > 0n);
    assert.equal(summary.finishReason, pb.FinishReason.STOP);
    assert.equal(typeof summary.costNanoUsd, "bigint");
    assert.ok(summary.timeToFirstToken);
  });

  test("breaking out of a stream cancels it cleanly", async (t) => {
    if (!server) return t.skip("no llm-router");
    const stream = connect().stream("Tell me a long story.");
    for await (const _ of stream) {
      break;
    }
    assert.equal(stream.summary, undefined);
    await assert.rejects(stream.finish(), /only once/);
  });

  test("cost report counts exactly the tenant's requests", async (t) => {
    if (!server) return t.skip("no llm-router");
    const tenant = uniqueTenant();
    const client = connect({ tenant });
    await client.complete("question one");
    await client.stream("question two").finish();
    const report = await client.costReport({ tenants: [tenant], groupBy: [pb.GroupBy.TENANT] });
    assert.equal(report.totals?.requests, 2n);
    assert.ok((report.totals?.outputTokens ?? 0n) > 0n);
    assert.deepEqual(report.rows.map((r) => r.tenant), [tenant]);
    assert.ok(report.baselineModel?.provider);
    assert.ok(report.endTime);
  });

  test("models lists the demo catalog with prices", async (t) => {
    if (!server) return t.skip("no llm-router");
    const models = await connect().models({ provider: "demo", availableOnly: true });
    assert.deepEqual(models.map((m) => m.model?.model).sort(), ["demo-balanced", "demo-fast", "demo-premium"]);
    for (const m of models) {
      assert.ok(m.available && m.pricing && m.contextWindow > 0n);
    }
  });

  test("bad input is INVALID_ARGUMENT naming the field from the rich details", async (t) => {
    if (!server) return t.skip("no llm-router");
    const client = connect();
    const error = await client.complete({ messages: [] }).then(
      () => assert.fail("expected an error"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof InvalidArgumentError, String(error));
    assert.ok(error instanceof RouterError);
    assert.equal(error.codeName, "INVALID_ARGUMENT");
    assert.deepEqual(error.fields, ["messages"]);
    assert.ok(error.fieldViolations[0]?.description);
    // The same error from a stream arrives on the first read.
    await assert.rejects(client.stream({ messages: [] }).finish(), (e: unknown) =>
      e instanceof InvalidArgumentError && e.fields.includes("messages"));
    await assert.rejects(client.route("hi", { tenant: "not a tenant!" }), (e: unknown) =>
      e instanceof InvalidArgumentError && e.fields.includes("metadata x-tenant-id"));
  });

  test("typed errors: NOT_FOUND, UNAVAILABLE", async (t) => {
    if (!server) return t.skip("no llm-router");
    const client = connect();
    await assert.rejects(
      client.route({ messages: [user("hi")], preferences: { forceModel: modelRef("demo/no-such-model") } }),
      NotFoundError,
    );
    await assert.rejects(client.feedback("never-seen", 4), NotFoundError);
    const nowhere = connect({ address: "127.0.0.1:1", maxAttempts: 2, timeoutMs: 5_000 });
    await assert.rejects(nowhere.models(), UnavailableError);
  });

  // The router under test runs its demo provider with a delay per token (2 ms in scripts/test-clients and
  // when the tests start it), so a 96-token demo-premium answer takes about 200 ms and a 30 ms deadline
  // expires in the middle of the call.
  test("a deadline that passes is DEADLINE_EXCEEDED, for a stream too", async (t) => {
    if (!server) return t.skip("no llm-router");
    const premium = { messages: [user("hi")], preferences: { forceModel: modelRef("demo/demo-premium") } };
    await assert.rejects(connect().complete(premium, { timeoutMs: 30 }), DeadlineExceededError);
    const stream = connect({ timeoutMs: 30 }).stream(premium);
    await assert.rejects(stream.finish(), DeadlineExceededError);
    assert.equal(stream.summary, undefined);
  });
});
