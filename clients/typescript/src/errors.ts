// Typed errors with the google.rpc rich details the router sends in grpc-status-details-bin.
import { Code, ConnectError } from "@connectrpc/connect";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  PreconditionFailureSchema,
  QuotaFailureSchema,
  RequestInfoSchema,
  RetryInfoSchema,
  type BadRequest_FieldViolation,
  type ErrorInfo,
  type PreconditionFailure_Violation,
  type QuotaFailure_Violation,
} from "./gen/google/rpc/error_details_pb.js";

/** One failed provider attempt, from an ErrorInfo detail of an UNAVAILABLE error. */
export interface ProviderFailure {
  provider: string;
  reason: string;
  errorKind: string;
  message: string;
  httpStatus?: number;
  model?: string;
}

/** A failed call. Subclasses name the status code; `instanceof` picks the kind. */
export class RouterError extends Error {
  override name = "RouterError";
  /** The gRPC status code (Connect's Code enum has the same numbers). */
  readonly code: Code;
  /** The status message as the server wrote it. */
  readonly rawMessage: string;
  /** Bad request fields (INVALID_ARGUMENT). */
  readonly fieldViolations: BadRequest_FieldViolation[];
  /** Causes; for UNAVAILABLE one per failed provider attempt. */
  readonly errorInfos: ErrorInfo[];
  /** The exhausted budget or rate limit (RESOURCE_EXHAUSTED). */
  readonly quotaViolations: QuotaFailure_Violation[];
  /** The routing constraint no model satisfies (FAILED_PRECONDITION). */
  readonly preconditionViolations: PreconditionFailure_Violation[];
  /** How long the server asks the caller to wait before retrying, when it says. */
  readonly retryDelayMs: number | undefined;
  /** The request id the server reported (internal errors). */
  readonly requestId: string | undefined;
  /** Response headers and trailers of the failed call. */
  readonly metadata: Headers;

  constructor(error: ConnectError) {
    super(`${codeName(error.code)}: ${error.rawMessage}`, { cause: error });
    this.code = error.code;
    this.rawMessage = error.rawMessage;
    this.metadata = error.metadata;
    this.fieldViolations = error.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations);
    this.errorInfos = error.findDetails(ErrorInfoSchema);
    this.quotaViolations = error.findDetails(QuotaFailureSchema).flatMap((d) => d.violations);
    this.preconditionViolations = error.findDetails(PreconditionFailureSchema).flatMap((d) => d.violations);
    const delay = error.findDetails(RetryInfoSchema)[0]?.retryDelay;
    this.retryDelayMs = delay ? Number(delay.seconds) * 1000 + delay.nanos / 1e6 : undefined;
    this.requestId = error.findDetails(RequestInfoSchema)[0]?.requestId;
  }

  /** The status code's name, e.g. "INVALID_ARGUMENT". */
  get codeName(): string {
    return codeName(this.code);
  }

  /** Names of the bad fields, e.g. ["messages"]. */
  get fields(): string[] {
    return this.fieldViolations.map((v) => v.field);
  }

  /** The failed provider attempts (ErrorInfo details whose domain is a provider). */
  get attempts(): ProviderFailure[] {
    return this.errorInfos
      .filter((i) => i.metadata["error_kind"] !== undefined)
      .map((i) => ({
        provider: i.domain,
        reason: i.reason,
        errorKind: i.metadata["error_kind"] ?? "",
        message: i.metadata["message"] ?? "",
        httpStatus: i.metadata["http_status"] ? Number(i.metadata["http_status"]) : undefined,
        model: i.metadata["model"],
      }));
  }
}

export class InvalidArgumentError extends RouterError { override name = "InvalidArgumentError"; }
export class NotFoundError extends RouterError { override name = "NotFoundError"; }
export class AlreadyExistsError extends RouterError { override name = "AlreadyExistsError"; }
export class PermissionDeniedError extends RouterError { override name = "PermissionDeniedError"; }
export class UnauthenticatedError extends RouterError { override name = "UnauthenticatedError"; }
/** RESOURCE_EXHAUSTED: a budget or a rate limit; see quotaViolations and retryDelayMs. */
export class QuotaExceededError extends RouterError { override name = "QuotaExceededError"; }
export class FailedPreconditionError extends RouterError { override name = "FailedPreconditionError"; }
export class AbortedError extends RouterError { override name = "AbortedError"; }
/** UNAVAILABLE: the server is unreachable, or every candidate failed (see attempts). */
export class UnavailableError extends RouterError { override name = "UnavailableError"; }
export class DeadlineExceededError extends RouterError { override name = "DeadlineExceededError"; }
export class CanceledError extends RouterError { override name = "CanceledError"; }
export class InternalError extends RouterError { override name = "InternalError"; }

const classes: Partial<Record<Code, new (e: ConnectError) => RouterError>> = {
  [Code.InvalidArgument]: InvalidArgumentError,
  [Code.OutOfRange]: InvalidArgumentError,
  [Code.NotFound]: NotFoundError,
  [Code.AlreadyExists]: AlreadyExistsError,
  [Code.PermissionDenied]: PermissionDeniedError,
  [Code.Unauthenticated]: UnauthenticatedError,
  [Code.ResourceExhausted]: QuotaExceededError,
  [Code.FailedPrecondition]: FailedPreconditionError,
  [Code.Aborted]: AbortedError,
  [Code.Unavailable]: UnavailableError,
  [Code.DeadlineExceeded]: DeadlineExceededError,
  [Code.Canceled]: CanceledError,
  [Code.Internal]: InternalError,
};

/** Converts anything a call threw into a RouterError of the matching subclass. */
export function toRouterError(reason: unknown): RouterError {
  if (reason instanceof RouterError) {
    return reason;
  }
  const error = ConnectError.from(reason);
  const Class = classes[error.code] ?? RouterError;
  return new Class(error);
}

function codeName(code: Code): string {
  if (code === Code.Canceled) {
    return "CANCELLED"; // gRPC's spelling
  }
  return (Code[code] ?? "Unknown").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
