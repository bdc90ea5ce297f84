package bench

import (
	"encoding/binary"
	"os"
	"runtime"
	"testing"
	"time"
)

// A real /proc/<pid>/stat line, with a command name made awkward on
// purpose: spaces and a ')' inside the parentheses.
const statSample = `4242 (hook line) (x)) S 1 4242 4242 0 -1 4194560 12345 0 0 0 1520 347 0 0 20 0 12 0 987654 1234567890 12000 18446744073709551615 1 1 0 0 0 0 0 0 2143420159 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0`

const statusSample = `Name:	hookline
Umask:	0022
State:	S (sleeping)
Pid:	4242
VmPeak:	 1834520 kB
VmSize:	 1834520 kB
VmHWM:	   81234 kB
VmRSS:	   40960 kB
Threads:	12
`

func TestParseStat(t *testing.T) {
	t.Parallel()
	got, err := ParseStat([]byte(statSample), 100)
	if err != nil {
		t.Fatal(err)
	}
	if got.User != 15200*time.Millisecond || got.System != 3470*time.Millisecond || got.Total() != 18670*time.Millisecond {
		t.Errorf("ParseStat = %+v, want 15.2s user and 3.47s system", got)
	}
	// The tick is the unit: at 250 ticks a second the same counts are less.
	if got, _ := ParseStat([]byte(statSample), 250); got.User != 6080*time.Millisecond {
		t.Errorf("at 250 Hz user = %s, want 6.08s", got.User)
	}
	for _, bad := range []string{"", "4242 hookline S 1", "4242 (x) S 1 2 3", "4242 (x) S 1 4242 4242 0 -1 4194560 12345 0 0 0 abc 347"} {
		if _, err := ParseStat([]byte(bad), 100); err == nil {
			t.Errorf("ParseStat(%q) succeeded", bad)
		}
	}
}

func TestParseSystemStat(t *testing.T) {
	t.Parallel()
	sample := "cpu  1000 10 500 8000 90 5 15 30 0 0\ncpu0 500 5 250 4000 45 2 3 0 0 0\nintr 1\n"
	got, err := ParseSystemStat([]byte(sample), 100)
	if err != nil {
		t.Fatal(err)
	}
	want := SystemCPU{Busy: 15100 * time.Millisecond, IRQ: 200 * time.Millisecond, Steal: 300 * time.Millisecond, Total: 96500 * time.Millisecond}
	if got != want {
		t.Errorf("ParseSystemStat = %+v, want %+v", got, want)
	}
	if d := got.Sub(SystemCPU{Busy: time.Second}); d.Busy != 14100*time.Millisecond || d.Total != want.Total {
		t.Errorf("Sub = %+v", d)
	}
	for _, bad := range []string{"intr 1\n", "cpu 1 2 3\n", "cpu 1 2 3 4 5 6 x 8\n"} {
		if _, err := ParseSystemStat([]byte(bad), 100); err == nil {
			t.Errorf("ParseSystemStat(%q) succeeded", bad)
		}
	}
}

func TestParseStatus(t *testing.T) {
	t.Parallel()
	got, err := ParseStatus([]byte(statusSample))
	if err != nil {
		t.Fatal(err)
	}
	if got.RSS != 40960<<10 || got.Peak != 81234<<10 {
		t.Errorf("ParseStatus = %+v", got)
	}
	if _, err := ParseStatus([]byte("Name:\tx\nVmRSS:\t 12 kB\n")); err == nil {
		t.Error("ParseStatus without VmHWM succeeded")
	}
	if _, err := ParseStatus([]byte("VmRSS:\t 12 MB\nVmHWM:\t 12 kB\n")); err == nil {
		t.Error("ParseStatus with another unit succeeded")
	}
}

func TestOwnProcess(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	// Burn a little CPU so that the counters have something to show.
	deadline := time.Now().Add(50 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = x * x
	}
	cpu, err := ReadCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if cpu.Total() <= 0 {
		t.Errorf("own CPU time = %s, want more than 0", cpu.Total())
	}
	mem, err := ReadMem(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if mem.RSS <= 0 || mem.Peak < mem.RSS {
		t.Errorf("own memory = %+v, want 0 < RSS <= peak", mem)
	}
	if tick := ClockTick(); tick <= 0 || tick > 10000 {
		t.Errorf("ClockTick = %d", tick)
	}
	m := ReadMachine()
	if m.Cores < 1 || m.MemoryMiB <= 0 || m.GoVersion == "" {
		t.Errorf("ReadMachine = %+v", m)
	}
}

func TestParseAuxvClockTick(t *testing.T) {
	t.Parallel()
	pairs := func(word int, kv ...uint64) []byte {
		var b []byte
		for _, v := range kv {
			if word == 8 {
				b = binary.NativeEndian.AppendUint64(b, v)
			} else {
				b = binary.NativeEndian.AppendUint32(b, uint32(v))
			}
		}
		return b
	}
	for _, word := range []int{4, 8} {
		if got := ParseAuxvClockTick(pairs(word, 6, 4096, atClkTck, 100, 0, 0), word); got != 100 {
			t.Errorf("word %d: got %d, want 100", word, got)
		}
		if got := ParseAuxvClockTick(pairs(word, 6, 4096, 0, 0, atClkTck, 250), word); got != 0 {
			t.Errorf("word %d: read past AT_NULL: %d", word, got)
		}
	}
	if got := ParseAuxvClockTick([]byte{1, 2, 3}, 8); got != 0 {
		t.Errorf("short vector: %d", got)
	}
}

func TestParseMachineFiles(t *testing.T) {
	t.Parallel()
	cpuinfo := "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n\nprocessor\t: 1\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n"
	if got := ParseCPUModel([]byte(cpuinfo)); got != "Intel(R) Xeon(R) CPU @ 2.20GHz" {
		t.Errorf("ParseCPUModel = %q", got)
	}
	if got := ParseMemTotal([]byte("MemTotal:       24576000 kB\nMemFree:        1 kB\n")); got != 24576000<<10 {
		t.Errorf("ParseMemTotal = %d", got)
	}
}
