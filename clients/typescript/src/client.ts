// A thin client over the generated RouterService: deadlines, bounded retries of UNAVAILABLE, tenant and
// caller-key metadata, an async-iterable StreamComplete and typed errors.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import {
  CompleteRequestSchema,
  CostReportRequestSchema,
  ListModelsRequestSchema,
  MessageSchema,
  ModelRefSchema,
  Role,
  RouteRequestSchema,
  RouterService,
  SubmitFeedbackRequestSchema,
  type CompleteResponse,
  type CompletionSummary,
  type CostReportResponse,
  type ModelInfo,
  type ModelRef,
  type RouteDecision,
  type RouteResponse,
  type StreamCompleteResponse,
  type SubmitFeedbackResponse,
} from "./gen/llmrouter/v1/router_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "./gen/grpc/health/v1/health_pb.js";
import { RouterError, toRouterError } from "./errors.js";

export type MessageInit = MessageInitShape<typeof MessageSchema>;
export type RouteRequestInit = MessageInitShape<typeof RouteRequestSchema>;
export type CompleteRequestInit = MessageInitShape<typeof CompleteRequestSchema>;
export type CostReportRequestInit = MessageInitShape<typeof CostReportRequestSchema>;
export type ListModelsRequestInit = MessageInitShape<typeof ListModelsRequestSchema>;

/** The deadline of a call that sets none, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 60_000;
/** Tries of a call that fails with UNAVAILABLE, the first one included. */
export const DEFAULT_MAX_ATTEMPTS = 3;

export interface RouterClientOptions {
  /** "host:port" (plaintext HTTP/2) or a URL: "http://host:port", "https://host:port". */
  address: string;
  /** Sent as x-tenant-id on every call. */
  tenant?: string;
  /** Sent as authorization: Bearer KEY on every call. */
  apiKey?: string;
  /** Deadline of each call (a stream's covers the whole stream); 0 for none. Default 60 s. */
  timeoutMs?: number;
  /** Tries of a call that fails with UNAVAILABLE (a stream only before its first event); 1 turns retries off. */
  maxAttempts?: number;
  /** Extra Connect interceptors. */
  interceptors?: Interceptor[];
}

export interface CallOptions {
  /** This call's deadline in milliseconds, instead of the client's. */
  timeoutMs?: number;
  /** Cancels the call. */
  signal?: AbortSignal;
  /** This call's tenant, instead of the client's. */
  tenant?: string;
  /** This call's caller key, instead of the client's. */
  apiKey?: string;
  /** More request headers (metadata). */
  headers?: Record<string, string>;
}

/** A user message. */
export function user(content: string): MessageInit {
  return { role: Role.USER, content };
}

/** A system message. */
export function system(content: string): MessageInit {
  return { role: Role.SYSTEM, content };
}

/** An earlier assistant message. */
export function assistant(content: string): MessageInit {
  return { role: Role.ASSISTANT, content };
}

/** "provider/model" (or "provider") as a ModelRef, e.g. for preferences.forceModel. */
export function modelRef(name: string): ModelRef {
  const [provider = "", model = ""] = name.split("/", 2);
  return create(ModelRefSchema, { provider, model });
}

function asRequest<T extends { messages?: MessageInit[] }>(input: string | T): T {
  return typeof input === "string" ? ({ messages: [user(input)] } as T) : input;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });

export class RouterClient {
  /** The gRPC transport (HTTP/2), for other services on the same server. */
  readonly transport: Transport;
  /** The generated client, for calls this wrapper does not cover. */
  readonly stub: Client<typeof RouterService>;
  readonly #sessions: Http2SessionManager;
  readonly #options: Required<Omit<RouterClientOptions, "interceptors" | "tenant" | "apiKey">> &
    Pick<RouterClientOptions, "tenant" | "apiKey">;

  constructor(options: RouterClientOptions | string) {
    const o = typeof options === "string" ? { address: options } : options;
    const baseUrl = /^[a-z]+:\/\//.test(o.address) ? o.address : `http://${o.address}`;
    this.#sessions = new Http2SessionManager(baseUrl, { idleConnectionTimeoutMs: 30_000 });
    this.transport = createGrpcTransport({
      baseUrl,
      sessionManager: this.#sessions,
      interceptors: o.interceptors ?? [],
    });
    this.stub = createClient(RouterService, this.transport);
    this.#options = {
      address: o.address,
      tenant: o.tenant,
      apiKey: o.apiKey,
      timeoutMs: o.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxAttempts: Math.max(1, Math.min(o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS, 5)),
    };
  }

  /** Routing decision only: nothing is called or recorded. */
  route(input: string | RouteRequestInit, options?: CallOptions): Promise<RouteResponse> {
    const request = asRequest(input);
    return this.#unary((o) => this.stub.route(request, o), options);
  }

  /** Routes and executes; the whole answer with usage, cost and attempts. */
  complete(input: string | CompleteRequestInit, options?: CallOptions): Promise<CompleteResponse> {
    const request = asRequest(input);
    return this.#unary((o) => this.stub.complete(request, o), options);
  }

  /**
   * Streams a completion. Iterate it for the text deltas; when the loop ends, `summary` holds the model,
   * usage and cost. Breaking out of the loop cancels the call (and the upstream provider call).
   */
  stream(input: string | CompleteRequestInit, options?: CallOptions): CompletionStream {
    const request = asRequest(input);
    return new CompletionStream((o) => this.stub.streamComplete(request, o), this.#callOptions(options),
      this.#options.maxAttempts);
  }

  /** Aggregates the ledger over a window (all of it by default). */
  costReport(input: CostReportRequestInit = {}, options?: CallOptions): Promise<CostReportResponse> {
    return this.#unary((o) => this.stub.costReport(input, o), options);
  }

  /** The model catalog with prices, capabilities and live availability. */
  async models(input: ListModelsRequestInit = {}, options?: CallOptions): Promise<ModelInfo[]> {
    return (await this.#unary((o) => this.stub.listModels(input, o), options)).models;
  }

  /** Rates (1-5) an earlier request by its request id. */
  feedback(requestId: string, rating: number, comment = "", options?: CallOptions): Promise<SubmitFeedbackResponse> {
    const request = create(SubmitFeedbackRequestSchema, { requestId, rating, comment });
    return this.#unary((o) => this.stub.submitFeedback(request, o), options);
  }

  /** The serving status from grpc.health.v1 ("" is the whole server). */
  async checkHealth(service = "", options?: CallOptions): Promise<HealthCheckResponse_ServingStatus> {
    const health = createClient(Health, this.transport);
    return (await this.#unary((o) => health.check({ service }, o), options)).status;
  }

  /** Closes the HTTP/2 connection; calls in flight fail. */
  close(): void {
    this.#sessions.abort();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #callOptions(options: CallOptions = {}): ResolvedCall {
    const headers = new Headers(options.headers);
    const tenant = options.tenant ?? this.#options.tenant;
    const apiKey = options.apiKey ?? this.#options.apiKey;
    if (tenant) headers.set("x-tenant-id", tenant);
    if (apiKey) headers.set("authorization", `Bearer ${apiKey}`);
    const timeoutMs = options.timeoutMs ?? this.#options.timeoutMs;
    return { headers, signal: options.signal, deadline: timeoutMs > 0 ? Date.now() + timeoutMs : undefined };
  }

  async #unary<T>(call: (o: ConnectCallOptions) => Promise<T>, options?: CallOptions): Promise<T> {
    const resolved = this.#callOptions(options);
    for (let attempt = 1; ; attempt++) {
      try {
        return await call(connectOptions(resolved));
      } catch (reason) {
        const error = toRouterError(reason);
        if (!(await retryable(error, attempt, this.#options.maxAttempts, resolved))) {
          throw error;
        }
      }
    }
  }
}

interface ResolvedCall {
  headers: Headers;
  signal: AbortSignal | undefined;
  deadline: number | undefined;
}

interface ConnectCallOptions {
  headers: Headers;
  signal?: AbortSignal;
  timeoutMs?: number;
}

function connectOptions(call: ResolvedCall, signal = call.signal): ConnectCallOptions {
  const o: ConnectCallOptions = { headers: call.headers };
  if (signal) o.signal = signal;
  if (call.deadline !== undefined) o.timeoutMs = Math.max(1, call.deadline - Date.now());
  return o;
}

/** Waits out the backoff and says whether to try again: UNAVAILABLE, tries left, time left before the deadline. */
async function retryable(error: RouterError, attempt: number, maxAttempts: number, call: ResolvedCall): Promise<boolean> {
  if (error.code !== Code.Unavailable || attempt >= maxAttempts || call.signal?.aborted) {
    return false;
  }
  const backoff = Math.min(100 * 2 ** (attempt - 1), 2_000) * (0.5 + Math.random() / 2);
  if (call.deadline !== undefined && Date.now() + backoff >= call.deadline) {
    return false;
  }
  await sleep(backoff, call.signal);
  return true;
}

/**
 * A StreamComplete call. Iterate it (once) for the text deltas:
 *
 *     const stream = client.stream("Tell me a story");
 *     for await (const text of stream) process.stdout.write(text);
 *     console.log(stream.summary?.costNanoUsd);
 */
export class CompletionStream implements AsyncIterable<string> {
  /** The routing decision (the first event). */
  decision: RouteDecision | undefined;
  /** Model, usage, cost and attempts (the last event); set when iteration ends without an error. */
  summary: CompletionSummary | undefined;
  /** The request id (the caller's or the server's). */
  requestId = "";
  /** The model producing the text, from the first delta. */
  model: ModelRef | undefined;
  /** All the text so far. */
  text = "";
  readonly #open: (o: ConnectCallOptions) => AsyncIterable<StreamCompleteResponse>;
  readonly #call: ResolvedCall;
  readonly #maxAttempts: number;
  readonly #abort = new AbortController();
  #started = false;

  constructor(open: (o: ConnectCallOptions) => AsyncIterable<StreamCompleteResponse>, call: ResolvedCall,
    maxAttempts: number) {
    this.#open = open;
    this.#call = call;
    this.#maxAttempts = maxAttempts;
    call.signal?.addEventListener("abort", () => this.#abort.abort(call.signal?.reason), { once: true });
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<string, void, undefined> {
    if (this.#started) {
      throw new Error("a CompletionStream can be iterated only once");
    }
    this.#started = true;
    let events: AsyncIterator<StreamCompleteResponse> | undefined;
    let finished = false;
    try {
      let received = false;
      for (let attempt = 1; !finished; attempt++) {
        events = this.#open(connectOptions(this.#call, this.#abort.signal))[Symbol.asyncIterator]();
        try {
          for (let r = await events.next(); !r.done; r = await events.next()) {
            received = true;
            const event = r.value;
            this.requestId = event.requestId;
            switch (event.event.case) {
              case "decision":
                this.decision = event.event.value;
                break;
              case "delta":
                this.model ??= event.event.value.model;
                this.text += event.event.value.text;
                yield event.event.value.text;
                break;
              case "summary":
                this.summary = event.event.value;
                break;
            }
          }
          finished = true;
        } catch (reason) {
          finished = true;
          const error = toRouterError(reason);
          // Like gRPC's own retry policy: only a call that has sent nothing back is tried again.
          if (received || !(await retryable(error, attempt, this.#maxAttempts, this.#call))) {
            throw error;
          }
          finished = false;
        }
      }
      if (this.summary === undefined) {
        throw new RouterError(new ConnectError("the stream ended without a summary", Code.DataLoss));
      }
    } finally {
      if (!finished) {
        // The loop was left early: cancel the call, and read once more so that Connect releases the call
        // (its deadline timer is only cleared when a read ends the call).
        this.#abort.abort();
        await events?.next().catch(() => undefined);
      }
    }
  }

  /** Reads the rest of the stream and returns the summary. */
  async finish(): Promise<CompletionSummary> {
    for await (const _ of this) {
      // drain
    }
    return this.summary as CompletionSummary;
  }

  /** Cancels the call (and the upstream provider call). */
  cancel(): void {
    this.#abort.abort();
  }
}

export { RouterError };
