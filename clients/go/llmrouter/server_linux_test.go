package llmrouter_test

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel stop the router if the test binary dies without stopping it.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
