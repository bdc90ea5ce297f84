package bench

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// ProcCPU is the CPU time a process has used, from /proc/<pid>/stat.
type ProcCPU struct {
	User, System time.Duration
}

// Total returns user plus system time.
func (c ProcCPU) Total() time.Duration { return c.User + c.System }

// ParseStat reads utime and stime (fields 14 and 15, in clock ticks) from
// the contents of /proc/<pid>/stat. The command name in field 2 may hold
// spaces and parentheses, so fields are counted from the last ')'.
func ParseStat(b []byte, tick int64) (ProcCPU, error) {
	end := bytes.LastIndexByte(b, ')')
	if end < 0 || tick <= 0 {
		return ProcCPU{}, errors.New("parse /proc stat: no command name")
	}
	f := strings.Fields(string(b[end+1:]))
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return ProcCPU{}, fmt.Errorf("parse /proc stat: %d fields after the command name, want at least 13", len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return ProcCPU{}, fmt.Errorf("parse /proc stat: %w", err)
	}
	perTick := time.Second / time.Duration(tick)
	return ProcCPU{User: time.Duration(ut) * perTick, System: time.Duration(st) * perTick}, nil
}

// SystemCPU is the time all CPUs of the machine spent, by kind, from the
// first line of /proc/stat.
type SystemCPU struct {
	// Busy is user, nice and system time: what processes ran.
	Busy time.Duration
	// IRQ is interrupt and softirq time, which the kernel does not charge
	// to any process: on loopback much of the TCP stack's work lands here.
	IRQ time.Duration
	// Steal is time a virtual machine's CPUs were ready to run but the
	// host ran something else.
	Steal time.Duration
	// Total is all of it, idle included.
	Total time.Duration
}

// Sub returns the time spent between o and s.
func (s SystemCPU) Sub(o SystemCPU) SystemCPU {
	return SystemCPU{Busy: s.Busy - o.Busy, IRQ: s.IRQ - o.IRQ, Steal: s.Steal - o.Steal, Total: s.Total - o.Total}
}

// ParseSystemStat reads the machine's CPU time from the contents of
// /proc/stat. Comparing the busy time with the CPU time of the processes a
// run knows of shows how much else was running.
func ParseSystemStat(b []byte, tick int64) (SystemCPU, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" || tick <= 0 {
		return SystemCPU{}, errors.New("parse /proc/stat: no cpu line")
	}
	// user nice system idle iowait irq softirq steal; guest time is already
	// counted in user and nice.
	var v [8]int64
	for i := range v {
		n, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return SystemCPU{}, fmt.Errorf("parse /proc/stat: %w", err)
		}
		v[i] = n
	}
	d := func(ticks int64) time.Duration { return time.Duration(ticks) * (time.Second / time.Duration(tick)) }
	var sum int64
	for _, n := range v {
		sum += n
	}
	return SystemCPU{Busy: d(v[0] + v[1] + v[2]), IRQ: d(v[5] + v[6]), Steal: d(v[7]), Total: d(sum)}, nil
}

// ReadSystemCPU returns the machine's CPU time so far.
func ReadSystemCPU() (SystemCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return SystemCPU{}, err
	}
	return ParseSystemStat(b, ClockTick())
}

// ProcMem is a process's memory use, from /proc/<pid>/status.
type ProcMem struct {
	// RSS is the resident set size now (VmRSS), in bytes.
	RSS int64
	// Peak is the largest RSS the process has had (VmHWM), in bytes.
	Peak int64
}

// ParseStatus reads VmRSS and VmHWM from the contents of /proc/<pid>/status.
func ParseStatus(b []byte) (ProcMem, error) {
	var m ProcMem
	var found int
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return m, fmt.Errorf("parse /proc status: %s: %q", name, rest)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("parse /proc status: %s: %w", name, err)
		}
		if name == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.Peak = kb << 10
		}
		found++
	}
	if found < 2 {
		return m, errors.New("parse /proc status: no VmRSS and VmHWM (is this Linux?)")
	}
	return m, nil
}

// ReadCPU returns the CPU time process pid has used.
func ReadCPU(pid int) (ProcCPU, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcCPU{}, err
	}
	return ParseStat(b, ClockTick())
}

// ReadMem returns the memory use of process pid.
func ReadMem(pid int) (ProcMem, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcMem{}, err
	}
	return ParseStatus(b)
}

// atClkTck is the auxiliary vector entry that holds sysconf(_SC_CLK_TCK).
const atClkTck = 17

var clockTick = sync.OnceValue(func() int64 {
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return 100
	}
	if t := ParseAuxvClockTick(b, int(unsafe.Sizeof(uintptr(0)))); t > 0 {
		return t
	}
	return 100
})

// ClockTick returns the unit of the CPU times in /proc/<pid>/stat, in ticks
// per second: what sysconf(_SC_CLK_TCK) returns, which the kernel passes
// every process in its auxiliary vector. It is 100 on every common Linux;
// 100 is also the answer when the vector cannot be read.
func ClockTick() int64 { return clockTick() }

// ParseAuxvClockTick returns AT_CLKTCK from the contents of
// /proc/self/auxv, a list of (key, value) pairs of native words of the
// given size, or 0 if absent.
func ParseAuxvClockTick(b []byte, word int) int64 {
	for len(b) >= 2*word {
		var k, v uint64
		if word == 8 {
			k, v = binary.NativeEndian.Uint64(b), binary.NativeEndian.Uint64(b[8:])
		} else {
			k, v = uint64(binary.NativeEndian.Uint32(b)), uint64(binary.NativeEndian.Uint32(b[4:]))
		}
		if k == 0 {
			return 0
		}
		if k == atClkTck {
			return int64(v)
		}
		b = b[2*word:]
	}
	return 0
}

// Machine describes the computer a run was made on.
type Machine struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	MemoryMiB int64  `json:"memory_mib"`
	OS        string `json:"os"`
	Kernel    string `json:"kernel,omitempty"`
	GoVersion string `json:"go_version"`
}

// ReadMachine describes this computer from /proc, leaving out what it
// cannot read.
func ReadMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPU = ParseCPUModel(b)
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemoryMiB = ParseMemTotal(b) >> 20
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// ParseCPUModel returns the first "model name" of /proc/cpuinfo.
func ParseCPUModel(b []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return ""
}

// ParseMemTotal returns MemTotal of /proc/meminfo in bytes, 0 if absent.
func ParseMemTotal(b []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != "MemTotal" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 2 && f[1] == "kB" {
			kb, _ := strconv.ParseInt(f[0], 10, 64)
			return kb << 10
		}
	}
	return 0
}
