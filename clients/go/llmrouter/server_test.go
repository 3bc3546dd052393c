package llmrouter_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// address is the router the tests call: LLM_ROUTER_ADDRESS, or one started from the repository's venv.
var address string

func TestMain(m *testing.M) {
	address = os.Getenv("LLM_ROUTER_ADDRESS")
	stop := func() {}
	if address == "" {
		var err error
		if address, stop, err = startServer(); err != nil {
			fmt.Fprintf(os.Stderr, "llmrouter tests: no server (%v); set LLM_ROUTER_ADDRESS to run them\n", err)
			address = ""
		}
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

// startServer runs `llm-router serve` (LLM_ROUTER_BIN, or .venv/bin/llm-router of the enclosing
// repository) on a free loopback port, with a demo provider taking 2 ms a token as scripts/test-clients
// runs it, and waits until it is SERVING.
func startServer() (string, func(), error) {
	bin := os.Getenv("LLM_ROUTER_BIN")
	if bin == "" {
		dir, _ := os.Getwd()
		for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
			if candidate := filepath.Join(dir, ".venv", "bin", "llm-router"); fileExists(candidate) {
				bin = candidate
				break
			}
		}
	}
	if bin == "" {
		return "", nil, errors.New("llm-router not found")
	}
	tmp, err := os.MkdirTemp("", "llmrouter-go-test")
	if err != nil {
		return "", nil, err
	}
	config := filepath.Join(tmp, "router.yaml")
	if err := os.WriteFile(config, []byte("demo:\n  token_delay_ms: 2\n"), 0o600); err != nil {
		return "", nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := l.Addr().String()
	_ = l.Close()
	logPath := filepath.Join(tmp, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, "serve", "--config", config, "--listen", addr)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Without provider keys in its environment the router answers with its keyless demo provider only.
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); !strings.HasSuffix(name, "_API_KEY") && !strings.HasSuffix(name, "_BASE_URL") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
		_ = logFile.Close()
		_ = os.RemoveAll(tmp)
	}
	if err := waitServing(addr, 60*time.Second); err != nil {
		log, _ := os.ReadFile(logPath)
		stop()
		err = fmt.Errorf("%w; server log:\n%s", err, log)
		return "", nil, err
	}
	return addr, stop, nil
}

func waitServing(addr string, within time.Duration) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		res, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && res.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("server at %s never became SERVING", addr)
}

func fileExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}

// needServer skips a test when there is no router to call.
func needServer(t *testing.T) string {
	t.Helper()
	if address == "" {
		t.Skip("no llm-router: set LLM_ROUTER_ADDRESS")
	}
	return address
}
