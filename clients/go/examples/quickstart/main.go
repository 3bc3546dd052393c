// Quickstart: route a prompt, stream a completion to stdout, then print the cost report.
//
//	go run ./examples/quickstart -address 127.0.0.1:50051 "Explain what a router does"
//
// The address defaults to $LLM_ROUTER_ADDRESS, then 127.0.0.1:50051; -tenant and -api-key (or
// $LLM_ROUTER_API_KEY) set the call metadata.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/llm-router/llm-router/clients/go/llmrouter"
	pb "github.com/llm-router/llm-router/clients/go/llmrouterv1"
)

func main() {
	address := flag.String("address", envOr("LLM_ROUTER_ADDRESS", "127.0.0.1:50051"), "router address host:port")
	tenant := flag.String("tenant", "", "tenant id (x-tenant-id)")
	apiKey := flag.String("api-key", os.Getenv("LLM_ROUTER_API_KEY"), "caller key")
	timeout := flag.Duration("timeout", 60*time.Second, "deadline of each call")
	flag.Parse()
	prompt := strings.Join(flag.Args(), " ")
	if prompt == "" {
		prompt = "Explain in two sentences what an LLM router does."
	}
	if err := run(*address, *tenant, *apiKey, *timeout, prompt); err != nil {
		var rerr *llmrouter.Error
		if errors.As(err, &rerr) {
			fmt.Fprintf(os.Stderr, "error: %s: %s\n", rerr.Code, rerr.Message)
			for _, v := range rerr.FieldViolations {
				fmt.Fprintf(os.Stderr, "  field %s: %s\n", v.GetField(), v.GetDescription())
			}
		} else {
			fmt.Fprintln(os.Stderr, "error:", err)
		}
		os.Exit(1)
	}
}

func run(address, tenant, apiKey string, timeout time.Duration, prompt string) error {
	client, err := llmrouter.New(address, llmrouter.WithTenant(tenant), llmrouter.WithAPIKey(apiKey),
		llmrouter.WithTimeout(timeout))
	if err != nil {
		return err
	}
	defer client.Close()
	ctx := context.Background()

	routed, err := client.Route(ctx, &pb.RouteRequest{Messages: llmrouter.UserText(prompt)})
	if err != nil {
		return err
	}
	d := routed.GetDecision()
	fmt.Printf("route: %s/%s (%s), estimated %s\n", d.GetSelected().GetProvider(), d.GetSelected().GetModel(),
		d.GetReason(), usd(d.GetEstimatedCostNanoUsd()))

	stream, err := client.Stream(ctx, &pb.CompleteRequest{Messages: llmrouter.UserText(prompt)})
	if err != nil {
		return err
	}
	defer stream.Close()
	for stream.Next() {
		fmt.Print(stream.Text())
	}
	if err := stream.Err(); err != nil {
		return err
	}
	s := stream.Summary()
	fmt.Printf("\nanswered by %s/%s: %d in + %d out tokens, cost %s (request %s)\n",
		s.GetModel().GetProvider(), s.GetModel().GetModel(), s.GetUsage().GetInputTokens(),
		s.GetUsage().GetOutputTokens(), usd(s.GetCostNanoUsd()), stream.RequestID())

	report, err := client.CostReport(ctx, &pb.CostReportRequest{GroupBy: []pb.GroupBy{pb.GroupBy_GROUP_BY_MODEL}})
	if err != nil {
		return err
	}
	for _, row := range report.GetRows() {
		fmt.Printf("cost report: %s/%s %d requests, %s (saved %s vs baseline)\n", row.GetProvider(), row.GetModel(),
			row.GetRequests(), usd(row.GetCostNanoUsd()), usd(row.GetSavingsNanoUsd()))
	}
	t := report.GetTotals()
	fmt.Printf("cost report: total %d requests, %s\n", t.GetRequests(), usd(t.GetCostNanoUsd()))
	return nil
}

func usd(nano int64) string { return fmt.Sprintf("$%.6f", float64(nano)/1e9) }

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
