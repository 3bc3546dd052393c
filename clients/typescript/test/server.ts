// The router the tests call: LLM_ROUTER_ADDRESS, or one started from the repository's venv.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { RouterClient, HealthCheckResponse_ServingStatus } from "../src/index.js";

export interface TestServer {
  address: string;
  stop(): Promise<void>;
}

function findBinary(): string | undefined {
  if (process.env["LLM_ROUTER_BIN"]) return process.env["LLM_ROUTER_BIN"];
  for (let dir = resolve("."); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, ".venv", "bin", "llm-router");
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? ok(address.port) : fail(new Error("no port"))));
    });
  });
}

async function waitServing(address: string, withinMs: number, child?: ChildProcess): Promise<void> {
  const client = new RouterClient({ address, timeoutMs: 500, maxAttempts: 1 });
  try {
    const deadline = Date.now() + withinMs;
    while (Date.now() < deadline) {
      if (child && child.exitCode !== null) throw new Error(`llm-router exited with ${child.exitCode}`);
      try {
        if ((await client.checkHealth()) === HealthCheckResponse_ServingStatus.SERVING) return;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`server at ${address} never became SERVING`);
  } finally {
    client.close();
  }
}

/** Returns the server to test against, or undefined (the tests then skip) when there is none. */
export async function startServer(): Promise<TestServer | undefined> {
  const given = process.env["LLM_ROUTER_ADDRESS"];
  if (given) return { address: given, stop: async () => {} };
  const bin = findBinary();
  if (!bin) return undefined;
  const tmp = mkdtempSync(join(tmpdir(), "llmrouter-ts-test-"));
  const config = join(tmp, "router.yaml");
  // A demo provider taking 2 ms a token, as scripts/test-clients runs it (the deadline test needs a delay).
  writeFileSync(config, "demo:\n  token_delay_ms: 2\n");
  const log = join(tmp, "server.log");
  const out = openSync(log, "w");
  const address = `127.0.0.1:${await freePort()}`;
  // Without provider keys in its environment the router answers with its keyless demo provider only.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.endsWith("_API_KEY") && !name.endsWith("_BASE_URL")),
  );
  const child = spawn(bin, ["serve", "--config", config, "--listen", address], { stdio: ["ignore", out, out], env });
  // If this process goes away without stop() (killed, interrupted), take the router with it.
  const killNow = () => {
    child.kill("SIGKILL");
    rmSync(tmp, { recursive: true, force: true });
  };
  process.once("exit", killNow);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      killNow();
      process.exit(signal === "SIGINT" ? 130 : 143);
    });
  }
  const stop = async () => {
    process.off("exit", killNow);
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    await waitServing(address, 60_000, child);
  } catch (error) {
    const text = readFileSync(log, "utf8");
    await stop();
    throw new Error(`${String(error)}\nserver log:\n${text}`);
  }
  return { address, stop };
}
