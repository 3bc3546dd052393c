package llmrouter

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is a failed call, with the google.rpc rich details the server attached. Every error the Client
// returns for a failed call is an *Error; match the kind with errors.Is and a sentinel
// (errors.Is(err, llmrouter.ErrInvalidArgument)) and read the details with errors.As.
type Error struct {
	// Code is the gRPC status code.
	Code codes.Code
	// Message is the status message.
	Message string
	// FieldViolations name the bad request fields (INVALID_ARGUMENT).
	FieldViolations []*errdetails.BadRequest_FieldViolation
	// ErrorInfos describe causes; for UNAVAILABLE there is one per failed provider attempt (Domain is the
	// provider, Metadata has error_kind, message, http_status and model).
	ErrorInfos []*errdetails.ErrorInfo
	// QuotaViolations name the exhausted budget or rate limit (RESOURCE_EXHAUSTED).
	QuotaViolations []*errdetails.QuotaFailure_Violation
	// PreconditionViolations name the routing constraint no model satisfies (FAILED_PRECONDITION).
	PreconditionViolations []*errdetails.PreconditionFailure_Violation
	// RetryDelay is how long the server asks the caller to wait before retrying (0: no advice).
	RetryDelay time.Duration
	// RequestID is the request id the server reported for an internal error.
	RequestID string

	status *status.Status
}

// FromError converts a gRPC error into an *Error (nil stays nil; a non-gRPC error becomes UNKNOWN).
func FromError(err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return already
	}
	st := status.Convert(err)
	e := &Error{Code: st.Code(), Message: st.Message(), status: st}
	for _, detail := range st.Details() {
		switch d := detail.(type) {
		case *errdetails.BadRequest:
			e.FieldViolations = append(e.FieldViolations, d.GetFieldViolations()...)
		case *errdetails.ErrorInfo:
			e.ErrorInfos = append(e.ErrorInfos, d)
		case *errdetails.QuotaFailure:
			e.QuotaViolations = append(e.QuotaViolations, d.GetViolations()...)
		case *errdetails.PreconditionFailure:
			e.PreconditionViolations = append(e.PreconditionViolations, d.GetViolations()...)
		case *errdetails.RetryInfo:
			e.RetryDelay = d.GetRetryDelay().AsDuration()
		case *errdetails.RequestInfo:
			e.RequestID = d.GetRequestId()
		}
	}
	return e
}

func (e *Error) Error() string { return fmt.Sprintf("llmrouter: %s: %s", e.Code, e.Message) }

// GRPCStatus makes status.FromError and status.Code work on an *Error.
func (e *Error) GRPCStatus() *status.Status {
	if e.status == nil {
		return status.New(e.Code, e.Message)
	}
	return e.status
}

// Is matches the sentinel of the same code, so errors.Is(err, ErrNotFound) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.status == nil && t.Message == "" && t.Code == e.Code
}

// ProviderFailure is one failed provider attempt, from an ErrorInfo detail of an UNAVAILABLE error.
type ProviderFailure struct {
	Provider   string
	Reason     string
	ErrorKind  string
	Message    string
	HTTPStatus int
	Model      string
}

// Attempts lists the failed provider attempts (ErrorInfo details that carry an error_kind); it is empty
// when the failure was the transport's (server unreachable or draining).
func (e *Error) Attempts() []ProviderFailure {
	var out []ProviderFailure
	for _, info := range e.ErrorInfos {
		md := info.GetMetadata()
		kind, ok := md["error_kind"]
		if !ok {
			continue
		}
		status, _ := strconv.Atoi(md["http_status"])
		out = append(out, ProviderFailure{
			Provider: info.GetDomain(), Reason: info.GetReason(), ErrorKind: kind,
			Message: md["message"], HTTPStatus: status, Model: md["model"],
		})
	}
	return out
}

// Fields lists the names of the bad fields, e.g. ["messages"].
func (e *Error) Fields() []string {
	names := make([]string, 0, len(e.FieldViolations))
	for _, v := range e.FieldViolations {
		names = append(names, v.GetField())
	}
	return names
}

// Sentinels for errors.Is; each matches any *Error with its code.
var (
	ErrInvalidArgument    = &Error{Code: codes.InvalidArgument}
	ErrNotFound           = &Error{Code: codes.NotFound}
	ErrAlreadyExists      = &Error{Code: codes.AlreadyExists}
	ErrPermissionDenied   = &Error{Code: codes.PermissionDenied}
	ErrUnauthenticated    = &Error{Code: codes.Unauthenticated}
	ErrQuotaExceeded      = &Error{Code: codes.ResourceExhausted}
	ErrFailedPrecondition = &Error{Code: codes.FailedPrecondition}
	ErrAborted            = &Error{Code: codes.Aborted}
	ErrUnavailable        = &Error{Code: codes.Unavailable}
	ErrDeadlineExceeded   = &Error{Code: codes.DeadlineExceeded}
	ErrCanceled           = &Error{Code: codes.Canceled}
	ErrInternal           = &Error{Code: codes.Internal}
)
