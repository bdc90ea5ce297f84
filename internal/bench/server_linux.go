package bench

import (
	"os/exec"
	"syscall"
)

// setDeathSignal has the kernel kill the server if the benchmark dies
// first, so that no server outlives an interrupted run.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
