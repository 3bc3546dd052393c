// Quickstart: route a prompt, stream a completion to stdout, then print the cost report.
//
//   npm run quickstart -- --address 127.0.0.1:50051 "Explain what a router does"
//
// The address defaults to $LLM_ROUTER_ADDRESS, then 127.0.0.1:50051; --tenant and --api-key (or
// $LLM_ROUTER_API_KEY) set the call metadata.
import { parseArgs } from "node:util";
import { RouterClient, RouterError, pb } from "../src/index.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    address: { type: "string", default: process.env["LLM_ROUTER_ADDRESS"] ?? "127.0.0.1:50051" },
    tenant: { type: "string" },
    "api-key": { type: "string", default: process.env["LLM_ROUTER_API_KEY"] },
    "timeout-ms": { type: "string", default: "60000" },
  },
});
const prompt = positionals.join(" ") || "Explain in two sentences what an LLM router does.";
const usd = (nano: bigint) => `$${(Number(nano) / 1e9).toFixed(6)}`;

const client = new RouterClient({
  address: values.address,
  tenant: values.tenant,
  apiKey: values["api-key"],
  timeoutMs: Number(values["timeout-ms"]),
});
try {
  const { decision } = await client.route(prompt);
  console.log(`route: ${decision?.selected?.provider}/${decision?.selected?.model} (${decision?.reason}), ` +
    `estimated ${usd(decision?.estimatedCostNanoUsd ?? 0n)}`);

  const stream = client.stream(prompt);
  for await (const text of stream) {
    process.stdout.write(text);
  }
  const s = stream.summary!;
  console.log(`\nanswered by ${s.model?.provider}/${s.model?.model}: ${s.usage?.inputTokens} in + ` +
    `${s.usage?.outputTokens} out tokens, cost ${usd(s.costNanoUsd)} (request ${stream.requestId})`);

  const report = await client.costReport({ groupBy: [pb.GroupBy.MODEL] });
  for (const row of report.rows) {
    console.log(`cost report: ${row.provider}/${row.model} ${row.requests} requests, ${usd(row.costNanoUsd)} ` +
      `(saved ${usd(row.savingsNanoUsd)} vs baseline)`);
  }
  console.log(`cost report: total ${report.totals?.requests ?? 0n} requests, ${usd(report.totals?.costNanoUsd ?? 0n)}`);
} catch (error) {
  if (error instanceof RouterError) {
    console.error(`error: ${error.message}`);
    for (const v of error.fieldViolations) console.error(`  field ${v.field}: ${v.description}`);
  } else {
    console.error("error:", error);
  }
  process.exitCode = 1;
} finally {
  client.close();
}
