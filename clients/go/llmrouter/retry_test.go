package llmrouter_test

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/llm-router/llm-router/clients/go/llmrouter"
	pb "github.com/llm-router/llm-router/clients/go/llmrouterv1"
)

// flaky is a stand-in RouterService: ListModels answers only on the third try, and every StreamComplete
// breaks after its first event.
type flaky struct {
	pb.UnimplementedRouterServiceServer
	calls atomic.Int32
}

func (f *flaky) ListModels(context.Context, *pb.ListModelsRequest) (*pb.ListModelsResponse, error) {
	if f.calls.Add(1) < 3 {
		return nil, status.Error(codes.Unavailable, "not yet")
	}
	return &pb.ListModelsResponse{Models: []*pb.ModelInfo{{Model: &pb.ModelRef{Provider: "demo", Model: "x"}}}}, nil
}

func (f *flaky) StreamComplete(_ *pb.CompleteRequest, s grpc.ServerStreamingServer[pb.StreamCompleteResponse]) error {
	f.calls.Add(1)
	decision := &pb.StreamCompleteResponse_Decision{Decision: &pb.RouteDecision{Reason: "stand-in"}}
	if err := s.Send(&pb.StreamCompleteResponse{RequestId: "r1", Event: decision}); err != nil {
		return err
	}
	return status.Error(codes.Unavailable, "broke after the first event")
}

func startFlaky(t *testing.T) (*flaky, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	f := &flaky{}
	pb.RegisterRouterServiceServer(srv, f)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return f, l.Addr().String()
}

func TestUnavailableIsRetriedUpToMaxAttempts(t *testing.T) {
	f, addr := startFlaky(t)
	c, err := llmrouter.New(addr, llmrouter.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, err := c.ListModels(context.Background(), &pb.ListModelsRequest{})
	if err != nil || len(res.GetModels()) != 1 || f.calls.Load() != 3 {
		t.Fatalf("want success on the third try, got %v after %d calls", err, f.calls.Load())
	}
	f.calls.Store(0)
	once, err := llmrouter.New(addr, llmrouter.WithMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	defer once.Close()
	if _, err := once.ListModels(context.Background(), &pb.ListModelsRequest{}); !errors.Is(err, llmrouter.ErrUnavailable) || f.calls.Load() != 1 {
		t.Fatalf("want UNAVAILABLE after one call, got %v after %d calls", err, f.calls.Load())
	}
}

func TestStreamIsNotRetriedAfterItsFirstEvent(t *testing.T) {
	f, addr := startFlaky(t)
	c, err := llmrouter.New(addr, llmrouter.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.Stream(context.Background(), &pb.CompleteRequest{Messages: llmrouter.UserText("hi")})
	if err != nil {
		t.Fatal(err)
	}
	for s.Next() {
	}
	if !errors.Is(s.Err(), llmrouter.ErrUnavailable) || f.calls.Load() != 1 || s.Decision().GetReason() != "stand-in" {
		t.Fatalf("want UNAVAILABLE after one call with its decision read, got %v after %d calls", s.Err(), f.calls.Load())
	}
}
