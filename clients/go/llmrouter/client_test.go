package llmrouter_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/llm-router/llm-router/clients/go/llmrouter"
	pb "github.com/llm-router/llm-router/clients/go/llmrouterv1"
)

// uniqueTenant isolates a test's ledger entries from every other caller of the shared server.
func uniqueTenant(t *testing.T) string {
	t.Helper()
	return "go-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.Itoa(os.Getpid())
}

func newClient(t *testing.T, opts ...llmrouter.Option) *llmrouter.Client {
	t.Helper()
	c, err := llmrouter.New(needServer(t), append([]llmrouter.Option{llmrouter.WithTimeout(20 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestHealth(t *testing.T) {
	c := newClient(t)
	health := healthpb.NewHealthClient(c.Conn())
	for _, service := range []string{"", "llmrouter.v1.RouterService"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		res, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		cancel()
		if err != nil {
			t.Fatalf("health %q: %v", service, err)
		}
		if res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health %q: %v", service, res.GetStatus())
		}
	}
}

func TestRoute(t *testing.T) {
	c := newClient(t)
	res, err := c.Route(context.Background(), &pb.RouteRequest{
		Messages:    llmrouter.UserText("Explain how a hash map handles collisions."),
		Preferences: &pb.RoutingPreferences{Strategy: pb.Strategy_STRATEGY_QUALITY_OPTIMIZED},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := res.GetDecision()
	if res.GetRequestId() == "" || d.GetSelected().GetProvider() != "demo" || d.GetReason() == "" {
		t.Fatalf("unexpected decision: %v", res)
	}
	if d.GetStrategy() != pb.Strategy_STRATEGY_QUALITY_OPTIMIZED || d.GetAnalysis().GetFeatures().GetWords() == 0 {
		t.Fatalf("strategy or analysis missing: %v", d)
	}
}

func TestCompleteThenFeedback(t *testing.T) {
	c := newClient(t, llmrouter.WithTenant(uniqueTenant(t)))
	id := fmt.Sprintf("go-complete-%d", time.Now().UnixNano())
	res, err := c.Complete(context.Background(), &pb.CompleteRequest{
		Messages:    llmrouter.UserText("hello"),
		RequestId:   id,
		Preferences: &pb.RoutingPreferences{ForceModel: llmrouter.ParseModel("demo/demo-balanced")},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := res.GetSummary()
	if res.GetRequestId() != id || !strings.HasPrefix(res.GetText(), "[demo:demo-balanced]") {
		t.Fatalf("unexpected answer: %v", res)
	}
	if s.GetModel().GetModel() != "demo-balanced" || s.GetUsage().GetOutputTokens() == 0 || len(s.GetAttempts()) != 1 {
		t.Fatalf("unexpected summary: %v", s)
	}
	fb, err := c.SubmitFeedback(context.Background(), &pb.SubmitFeedbackRequest{RequestId: id, Rating: 5})
	if err != nil {
		t.Fatal(err)
	}
	if fb.GetModel().GetModel() != "demo-balanced" || fb.GetReplaced() {
		t.Fatalf("unexpected feedback response: %v", fb)
	}
	fb, err = c.SubmitFeedback(context.Background(), &pb.SubmitFeedbackRequest{RequestId: id, Rating: 3})
	if err != nil || !fb.GetReplaced() {
		t.Fatalf("second rating should replace the first: %v %v", fb, err)
	}
	// The same request id again is refused: a retry never spends twice.
	_, err = c.Complete(context.Background(), &pb.CompleteRequest{Messages: llmrouter.UserText("hello"), RequestId: id})
	if !errors.Is(err, llmrouter.ErrAlreadyExists) {
		t.Fatalf("want ALREADY_EXISTS, got %v", err)
	}
}

func TestStreamToSummary(t *testing.T) {
	c := newClient(t)
	s, err := c.Stream(context.Background(), &pb.CompleteRequest{
		Messages: llmrouter.UserText("Write a short poem about routers."),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var deltas []string
	for s.Next() {
		if len(deltas) == 0 && s.Delta().GetModel().GetProvider() != "demo" {
			t.Fatalf("the first delta names the model: %v", s.Delta())
		}
		deltas = append(deltas, s.Text())
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if s.Decision() == nil || s.RequestID() == "" {
		t.Fatal("the decision comes first")
	}
	if len(deltas) < 2 || strings.Join(deltas, "") != s.FullText() {
		t.Fatalf("deltas: %q", deltas)
	}
	sum := s.Summary()
	if sum == nil || sum.GetUsage().GetOutputTokens() == 0 || sum.GetFinishReason() != pb.FinishReason_FINISH_REASON_STOP {
		t.Fatalf("unexpected summary: %v", sum)
	}
	if sum.GetTimeToFirstToken() == nil || sum.GetModel().GetModel() != s.Decision().GetSelected().GetModel() {
		t.Fatalf("summary misses ttft or model: %v", sum)
	}
	if s.Next() {
		t.Fatal("Next after the end must stay false")
	}
}

func TestCostReportCountsTheTenantsRequests(t *testing.T) {
	tenant := uniqueTenant(t)
	c := newClient(t, llmrouter.WithTenant(tenant))
	ctx := context.Background()
	for i := range 2 {
		if _, err := c.Complete(ctx, &pb.CompleteRequest{Messages: llmrouter.UserText(fmt.Sprintf("question %d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	report, err := c.CostReport(ctx, &pb.CostReportRequest{
		Tenants: []string{tenant},
		GroupBy: []pb.GroupBy{pb.GroupBy_GROUP_BY_TENANT},
	})
	if err != nil {
		t.Fatal(err)
	}
	if report.GetTotals().GetRequests() != 2 || report.GetTotals().GetOutputTokens() == 0 {
		t.Fatalf("totals: %v", report.GetTotals())
	}
	if len(report.GetRows()) != 1 || report.GetRows()[0].GetTenant() != tenant {
		t.Fatalf("rows: %v", report.GetRows())
	}
	if report.GetEndTime() == nil || report.GetBaselineModel().GetProvider() == "" {
		t.Fatalf("window or baseline missing: %v", report)
	}
}

func TestListModels(t *testing.T) {
	c := newClient(t)
	res, err := c.ListModels(context.Background(), &pb.ListModelsRequest{Provider: "demo", AvailableOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range res.GetModels() {
		names = append(names, m.GetModel().GetModel())
		if !m.GetAvailable() || m.GetPricing() == nil || m.GetContextWindow() == 0 {
			t.Fatalf("incomplete model: %v", m)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"demo-balanced", "demo-fast", "demo-premium"}) {
		t.Fatalf("demo models: %v", names)
	}
}

func TestInvalidArgumentNamesTheField(t *testing.T) {
	c := newClient(t)
	_, err := c.Complete(context.Background(), &pb.CompleteRequest{})
	var rerr *llmrouter.Error
	if !errors.Is(err, llmrouter.ErrInvalidArgument) || !errors.As(err, &rerr) {
		t.Fatalf("want INVALID_ARGUMENT, got %v", err)
	}
	if !slices.Contains(rerr.Fields(), "messages") || rerr.FieldViolations[0].GetDescription() == "" {
		t.Fatalf("want a field violation on messages, got %v", rerr.FieldViolations)
	}
	// The same error on a stream arrives on the first read.
	s, err := c.Stream(context.Background(), &pb.CompleteRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Next() || !errors.As(s.Err(), &rerr) || !slices.Contains(rerr.Fields(), "messages") {
		t.Fatalf("want INVALID_ARGUMENT on messages from the stream, got %v", s.Err())
	}
}

func TestTypedErrors(t *testing.T) {
	c := newClient(t)
	ctx := context.Background()
	_, err := c.Route(ctx, &pb.RouteRequest{
		Messages:    llmrouter.UserText("hi"),
		Preferences: &pb.RoutingPreferences{ForceModel: llmrouter.ParseModel("demo/no-such-model")},
	})
	if !errors.Is(err, llmrouter.ErrNotFound) {
		t.Fatalf("want NOT_FOUND, got %v", err)
	}
	_, err = c.SubmitFeedback(ctx, &pb.SubmitFeedbackRequest{RequestId: "never-seen", Rating: 4})
	if !errors.Is(err, llmrouter.ErrNotFound) {
		t.Fatalf("want NOT_FOUND, got %v", err)
	}
	bad := llmrouter.WithCallTenant(ctx, "not a tenant!")
	_, err = c.Route(bad, &pb.RouteRequest{Messages: llmrouter.UserText("hi")})
	var rerr *llmrouter.Error
	if !errors.As(err, &rerr) || !slices.Contains(rerr.Fields(), "metadata x-tenant-id") {
		t.Fatalf("want a field violation on the tenant metadata, got %v", err)
	}
}

// The router under test runs its demo provider with a delay per token (2 ms in scripts/test-clients and
// when the tests start it), so a 96-token demo-premium answer takes about 200 ms and a 30 ms deadline
// expires in the middle of the call.
func TestDeadlineExceeded(t *testing.T) {
	c := newClient(t)
	premium := &pb.RoutingPreferences{ForceModel: llmrouter.ParseModel("demo/demo-premium")}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := c.Complete(ctx, &pb.CompleteRequest{Messages: llmrouter.UserText("hi"), Preferences: premium})
	if !errors.Is(err, llmrouter.ErrDeadlineExceeded) {
		t.Fatalf("want DEADLINE_EXCEEDED, got %v", err)
	}
	// The client's default timeout applies to a context without a deadline, and covers a whole stream.
	short, err := llmrouter.New(needServer(t), llmrouter.WithTimeout(30*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer short.Close()
	s, err := short.Stream(context.Background(), &pb.CompleteRequest{Messages: llmrouter.UserText("hi"), Preferences: premium})
	if err != nil {
		t.Fatal(err)
	}
	for s.Next() {
	}
	if !errors.Is(s.Err(), llmrouter.ErrDeadlineExceeded) || s.Summary() != nil {
		t.Fatalf("want DEADLINE_EXCEEDED from the stream, got %v", s.Err())
	}
}

func TestUnreachableServerIsUnavailable(t *testing.T) {
	needServer(t)
	c, err := llmrouter.New("127.0.0.1:1", llmrouter.WithTimeout(5*time.Second), llmrouter.WithMaxAttempts(2))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.ListModels(context.Background(), &pb.ListModelsRequest{})
	var rerr *llmrouter.Error
	if !errors.Is(err, llmrouter.ErrUnavailable) || !errors.As(err, &rerr) {
		t.Fatalf("want UNAVAILABLE, got %v", err)
	}
	if len(rerr.Attempts()) != 0 {
		t.Fatalf("a transport failure tried no provider: %v", rerr.Attempts())
	}
}
