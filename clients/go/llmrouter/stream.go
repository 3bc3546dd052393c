package llmrouter

import (
	"context"
	"errors"
	"io"
	"strings"

	"google.golang.org/grpc"

	pb "github.com/llm-router/llm-router/clients/go/llmrouterv1"
)

// Stream reads a StreamComplete call: the decision first, then text deltas, then the summary.
//
//	s, err := c.Stream(ctx, req)
//	defer s.Close()
//	for s.Next() {
//		fmt.Print(s.Text())
//	}
//	if err := s.Err(); err != nil { ... }
//	fmt.Println(s.Summary().GetCostNanoUsd())
type Stream struct {
	call      grpc.ServerStreamingClient[pb.StreamCompleteResponse]
	cancel    context.CancelFunc
	requestID string
	decision  *pb.RouteDecision
	delta     *pb.TextDelta
	summary   *pb.CompletionSummary
	text      strings.Builder
	err       error
	done      bool
}

// Next advances to the next text delta. It returns false when the stream has ended (Summary is then set)
// or failed (Err is then set).
func (s *Stream) Next() bool {
	for !s.done {
		event, err := s.call.Recv()
		if err != nil {
			s.finish(err)
			return false
		}
		s.requestID = event.GetRequestId()
		switch e := event.GetEvent().(type) {
		case *pb.StreamCompleteResponse_Decision:
			s.decision = e.Decision
		case *pb.StreamCompleteResponse_Delta:
			s.delta = e.Delta
			s.text.WriteString(e.Delta.GetText())
			return true
		case *pb.StreamCompleteResponse_Summary:
			s.summary = e.Summary
		}
	}
	return false
}

func (s *Stream) finish(err error) {
	s.done = true
	s.delta = nil
	s.cancel()
	switch {
	case errors.Is(err, io.EOF) && s.summary == nil:
		s.err = errors.New("llmrouter: the stream ended without a summary")
	case !errors.Is(err, io.EOF):
		s.err = FromError(err)
	}
}

// Text is the current delta's text.
func (s *Stream) Text() string { return s.delta.GetText() }

// Delta is the current delta (its Model is set on the first delta only).
func (s *Stream) Delta() *pb.TextDelta { return s.delta }

// Decision is the routing decision, set once the first event has been read.
func (s *Stream) Decision() *pb.RouteDecision { return s.decision }

// Summary is the model, usage, cost and attempts, set when the stream has ended successfully.
func (s *Stream) Summary() *pb.CompletionSummary { return s.summary }

// RequestID is the request id, set once the first event has been read.
func (s *Stream) RequestID() string { return s.requestID }

// FullText is all the text read so far.
func (s *Stream) FullText() string { return s.text.String() }

// Err is the error that ended the stream (an *Error), nil while it is running or when it ended well.
func (s *Stream) Err() error { return s.err }

// Close cancels the call if it is still running. It is safe to call more than once.
func (s *Stream) Close() {
	if !s.done {
		s.done = true
		s.cancel()
	}
}
