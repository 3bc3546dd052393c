//go:build !linux

package llmrouter_test

import "os/exec"

func dieWithParent(*exec.Cmd) {}
