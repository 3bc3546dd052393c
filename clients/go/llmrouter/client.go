// Package llmrouter is a thin client for the llm-router gRPC service.
//
// It wraps the generated stubs in package llmrouterv1 with what every caller needs: a default deadline
// for calls whose context has none, a bounded retry policy for UNAVAILABLE (through the gRPC service
// config), tenant and caller-key metadata, a Scanner-style reader for StreamComplete, and errors that
// carry the google.rpc rich details the server sends (see Error).
//
//	c, err := llmrouter.New("127.0.0.1:50051", llmrouter.WithTenant("acme"))
//	defer c.Close()
//	res, err := c.Complete(ctx, &llmrouterv1.CompleteRequest{Messages: llmrouter.UserText("hi")})
package llmrouter

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	pb "github.com/llm-router/llm-router/clients/go/llmrouterv1"
)

// DefaultTimeout is the deadline given to a call whose context has none.
const DefaultTimeout = 60 * time.Second

// DefaultMaxAttempts bounds the retries of a call that fails with UNAVAILABLE (the first try included).
const DefaultMaxAttempts = 3

type options struct {
	tenant      string
	apiKey      string
	timeout     time.Duration
	maxAttempts int
	creds       credentials.TransportCredentials
	dialOptions []grpc.DialOption
}

// An Option configures a Client.
type Option func(*options)

// WithTenant sends the tenant id (x-tenant-id metadata) on every call.
func WithTenant(tenant string) Option { return func(o *options) { o.tenant = tenant } }

// WithAPIKey sends the caller key (authorization: Bearer KEY) on every call.
func WithAPIKey(key string) Option { return func(o *options) { o.apiKey = key } }

// WithTimeout sets the deadline of calls whose context has none; 0 leaves such calls without a deadline.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithMaxAttempts bounds the tries of a call that fails with UNAVAILABLE; 1 turns retries off.
// gRPC retries a StreamComplete only before the first response arrives, so no text is ever repeated.
func WithMaxAttempts(n int) Option { return func(o *options) { o.maxAttempts = n } }

// WithTransportCredentials sets TLS credentials; without it the connection is plaintext.
func WithTransportCredentials(creds credentials.TransportCredentials) Option {
	return func(o *options) { o.creds = creds }
}

// WithDialOptions adds gRPC dial options (interceptors, keepalive, ...).
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.dialOptions = append(o.dialOptions, opts...) }
}

// ServiceConfig returns the gRPC service config with the retry policy the client uses.
func ServiceConfig(maxAttempts int) string {
	if maxAttempts < 2 {
		return `{"methodConfig":[{"name":[{"service":"llmrouter.v1.RouterService"}]}]}`
	}
	return fmt.Sprintf(`{"methodConfig":[{"name":[{"service":"llmrouter.v1.RouterService"}],`+
		`"retryPolicy":{"maxAttempts":%d,"initialBackoff":"0.1s","maxBackoff":"2s",`+
		`"backoffMultiplier":2,"retryableStatusCodes":["UNAVAILABLE"]}}]}`, min(maxAttempts, 5))
}

// Client calls RouterService. It is safe for concurrent use; Close it when done.
type Client struct {
	conn *grpc.ClientConn
	rpc  pb.RouterServiceClient
	opts options
}

// New creates a client for address ("host:port", or any gRPC target). It connects lazily, on the first call.
func New(address string, opts ...Option) (*Client, error) {
	o := options{timeout: DefaultTimeout, maxAttempts: DefaultMaxAttempts}
	for _, opt := range opts {
		opt(&o)
	}
	creds := o.creds
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	dial := append([]grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultServiceConfig(ServiceConfig(o.maxAttempts)),
	}, o.dialOptions...)
	conn, err := grpc.NewClient(address, dial...)
	if err != nil {
		return nil, err
	}
	return &Client{conn: conn, rpc: pb.NewRouterServiceClient(conn), opts: o}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Conn is the underlying connection, for other services on the same server (health, reflection).
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Stub is the generated client, for calls this wrapper does not cover.
func (c *Client) Stub() pb.RouterServiceClient { return c.rpc }

type callKey struct{}

type callMeta struct{ tenant, apiKey string }

// WithCallTenant returns a context whose calls use this tenant instead of the client's.
func WithCallTenant(ctx context.Context, tenant string) context.Context {
	m, _ := ctx.Value(callKey{}).(callMeta)
	m.tenant = tenant
	return context.WithValue(ctx, callKey{}, m)
}

// WithCallAPIKey returns a context whose calls use this caller key instead of the client's.
func WithCallAPIKey(ctx context.Context, key string) context.Context {
	m, _ := ctx.Value(callKey{}).(callMeta)
	m.apiKey = key
	return context.WithValue(ctx, callKey{}, m)
}

// prepare adds the metadata and, when the context has no deadline, the default timeout.
func (c *Client) prepare(ctx context.Context) (context.Context, context.CancelFunc) {
	m, _ := ctx.Value(callKey{}).(callMeta)
	tenant, key := c.opts.tenant, c.opts.apiKey
	if m.tenant != "" {
		tenant = m.tenant
	}
	if m.apiKey != "" {
		key = m.apiKey
	}
	var kv []string
	if tenant != "" {
		kv = append(kv, "x-tenant-id", tenant)
	}
	if key != "" {
		kv = append(kv, "authorization", "Bearer "+key)
	}
	if len(kv) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, kv...)
	}
	if _, ok := ctx.Deadline(); !ok && c.opts.timeout > 0 {
		return context.WithTimeout(ctx, c.opts.timeout)
	}
	return context.WithCancel(ctx)
}

func unary[Req, Res any](c *Client, ctx context.Context, call func(context.Context, Req, ...grpc.CallOption) (Res, error), req Req) (Res, error) {
	ctx, cancel := c.prepare(ctx)
	defer cancel()
	res, err := call(ctx, req)
	if err != nil {
		var zero Res
		return zero, FromError(err)
	}
	return res, nil
}

// Route returns the routing decision only; nothing is called or recorded.
func (c *Client) Route(ctx context.Context, req *pb.RouteRequest) (*pb.RouteResponse, error) {
	return unary(c, ctx, c.rpc.Route, req)
}

// Complete routes and executes the request and returns the whole answer with usage and cost.
func (c *Client) Complete(ctx context.Context, req *pb.CompleteRequest) (*pb.CompleteResponse, error) {
	return unary(c, ctx, c.rpc.Complete, req)
}

// CostReport aggregates the ledger over a time window.
func (c *Client) CostReport(ctx context.Context, req *pb.CostReportRequest) (*pb.CostReportResponse, error) {
	return unary(c, ctx, c.rpc.CostReport, req)
}

// ListModels returns the model catalog with prices, capabilities and live availability.
func (c *Client) ListModels(ctx context.Context, req *pb.ListModelsRequest) (*pb.ListModelsResponse, error) {
	return unary(c, ctx, c.rpc.ListModels, req)
}

// SubmitFeedback rates (1-5) an earlier request by its request id.
func (c *Client) SubmitFeedback(ctx context.Context, req *pb.SubmitFeedbackRequest) (*pb.SubmitFeedbackResponse, error) {
	return unary(c, ctx, c.rpc.SubmitFeedback, req)
}

// Stream starts a StreamComplete. Read it with Next until it returns false, then check Err; the summary
// (usage, cost, attempts) is then in Summary. Close releases the call early (and cancels the upstream
// provider call); the call's deadline covers the whole stream.
func (c *Client) Stream(ctx context.Context, req *pb.CompleteRequest) (*Stream, error) {
	ctx, cancel := c.prepare(ctx)
	call, err := c.rpc.StreamComplete(ctx, req)
	if err != nil {
		cancel()
		return nil, FromError(err)
	}
	return &Stream{call: call, cancel: cancel}, nil
}

// Message builds a chat message.
func Message(role pb.Role, content string) *pb.Message {
	return &pb.Message{Role: role, Content: content}
}

// UserText is a conversation of one user message.
func UserText(text string) []*pb.Message {
	return []*pb.Message{Message(pb.Role_ROLE_USER, text)}
}

// ParseModel turns "provider/model" (or "provider/" or "provider") into a ModelRef for force_model.
func ParseModel(s string) *pb.ModelRef {
	provider, model, _ := strings.Cut(s, "/")
	return &pb.ModelRef{Provider: provider, Model: model}
}
