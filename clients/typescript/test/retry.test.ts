// The client's retry policy against a stand-in RouterService (Connect's own gRPC server) that fails on purpose.
import assert from "node:assert/strict";
import { createServer, type Http2Server } from "node:http2";
import { after, before, beforeEach, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { RouterClient, UnavailableError, pb } from "../src/index.js";

let calls = 0;
let server: Http2Server;
let address = "";
const clients: RouterClient[] = [];

function connect(maxAttempts?: number) {
  const client = new RouterClient({ address, timeoutMs: 10_000, maxAttempts });
  clients.push(client);
  return client;
}

before(async () => {
  const adapter = connectNodeAdapter({
    grpc: true,
    routes: (router) =>
      router.service(pb.RouterService, {
        // Answers only on the third try.
        async listModels() {
          calls++;
          if (calls < 3) throw new ConnectError("not yet", Code.Unavailable);
          return { models: [{ model: { provider: "demo", model: "x" } }] };
        },
        // The first try fails before any event, the second after its first event.
        async *streamComplete() {
          calls++;
          if (calls === 1) throw new ConnectError("not yet", Code.Unavailable);
          yield { requestId: "r1", event: { case: "decision", value: { reason: "stand-in" } } };
          throw new ConnectError("broke after the first event", Code.Unavailable);
        },
      }),
  });
  server = createServer(adapter);
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const bound = server.address();
  address = typeof bound === "object" && bound ? `127.0.0.1:${bound.port}` : "";
});

beforeEach(() => {
  calls = 0;
});

after(async () => {
  clients.forEach((c) => c.close());
  await new Promise((ok) => server.close(ok));
});

describe("retry of UNAVAILABLE", () => {
  test("a unary call is tried up to maxAttempts times", async () => {
    const models = await connect().models();
    assert.deepEqual(models.map((m) => m.model?.model), ["x"]);
    assert.equal(calls, 3);
    calls = 0;
    await assert.rejects(connect(1).models(), UnavailableError);
    assert.equal(calls, 1);
  });

  test("a stream is tried again only before its first event", async () => {
    const stream = connect().stream("hi");
    await assert.rejects(stream.finish(), UnavailableError);
    assert.equal(calls, 2, "retried once after failing before any event, not after its first event");
    assert.equal(stream.decision?.reason, "stand-in");
    assert.equal(stream.summary, undefined);
  });
});
