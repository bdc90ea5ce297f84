//go:build !linux

package bench

import "os/exec"

// setDeathSignal does nothing where the kernel offers no parent-death
// signal; Run still stops its servers on every normal return.
func setDeathSignal(*exec.Cmd) {}
