package inbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// Command is a program a command route may run, defined by the operator in
// the server's config file and never through the API: the request body is
// its standard input; selected fields of the request go in its
// environment.
type Command struct {
	// Path is the program to run; Args its arguments.
	Path string   `json:"path"`
	Args []string `json:"args,omitempty"`
	// Env maps environment variable names to JSON field paths of the
	// request's view, in dot notation ("repository.full_name").
	Env map[string]string `json:"env,omitempty"`
	// Dir is the working directory; empty means the server's.
	Dir string `json:"dir,omitempty"`
	// Timeout bounds one run (default 1 minute); the program is killed
	// when it passes.
	Timeout Duration `json:"timeout,omitempty"`
	// Concurrency bounds how many runs of this command go at once
	// (default 1).
	Concurrency int `json:"concurrency,omitempty"`
	// Retries is how many times a failed run is tried again (default 0).
	Retries int `json:"retries,omitempty"`
}

// Duration is a time.Duration written in JSON as a string such as "30s".
type Duration time.Duration

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) > 0 && b[0] == '"' {
		s = string(b[1 : len(b)-1])
	} else {
		return fmt.Errorf("durations are strings such as \"30s\", not %s", b)
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// MarshalJSON writes a duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}

const (
	defaultCommandTimeout = time.Minute
	// maxOutput caps the output kept of a run, stdout and stderr together.
	maxOutput = 64 << 10
	// runPoll is how often the runner looks for due runs when not told.
	runPoll = time.Second
)

// retryDelays are the waits before a failed run's retries.
var retryDelays = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour}

// runner claims due command runs and runs them.
type runner struct {
	s      *Service
	pokeCh chan struct{}
	stop   chan struct{}            // closed by Stop: claim no more
	sems   map[string]chan struct{} // per command, bounding its concurrency

	mu     sync.Mutex
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newRunner(s *Service) *runner {
	r := &runner{s: s, pokeCh: make(chan struct{}, 1), stop: make(chan struct{}), sems: map[string]chan struct{}{}}
	for name, c := range s.commands {
		r.sems[name] = make(chan struct{}, max(c.Concurrency, 1))
	}
	return r
}

func (r *runner) poke() {
	select {
	case r.pokeCh <- struct{}{}:
	default:
	}
}

// Start starts the command runner. It does nothing when no commands are
// configured.
func (s *Service) Start(ctx context.Context) error {
	if len(s.commands) == 0 {
		return nil
	}
	r := s.runner
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		return errors.New("inbound: already started")
	}
	ctx, r.cancel = context.WithCancel(ctx)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.loop(ctx)
	}()
	return nil
}

// Stop stops claiming runs and waits for running ones to finish, or until
// ctx ends; runs cut off then are killed and run again after a restart.
func (s *Service) Stop(ctx context.Context) error {
	r := s.runner
	r.mu.Lock()
	cancel := r.cancel
	r.cancel = nil
	r.mu.Unlock()
	if cancel == nil {
		return nil
	}
	close(r.stop)
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	defer cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		cancel()
		<-done
		return ctx.Err()
	}
}

func (r *runner) loop(ctx context.Context) {
	t := time.NewTicker(runPoll)
	defer t.Stop()
	for {
		r.claim(ctx)
		select {
		case <-r.pokeCh:
		case <-t.C:
		case <-r.stop:
			return
		case <-ctx.Done():
			return
		}
	}
}

// claim takes the due runs and starts each as its command's concurrency
// allows.
func (r *runner) claim(ctx context.Context) {
	now := r.s.now()
	runs, err := r.s.st.RunClaim(ctx, store.RunClaim{Now: now, Limit: 64, LeaseUntil: now.Add(r.lease())})
	if err != nil {
		if ctx.Err() == nil {
			r.s.log.Error("claim command runs", "err", err)
		}
		return
	}
	for i := range runs {
		run := runs[i]
		sem, ok := r.sems[run.Command]
		if !ok {
			r.finish(ctx, &run, -1, nil, fmt.Errorf("no command %q is defined in the server's config file", run.Command))
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-r.stop:
			return // the rest are due again when their lease ends
		case <-ctx.Done():
			return
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer func() { <-sem }()
			r.execute(ctx, &run)
		}()
	}
}

// lease is how long a claimed run is held: past the longest timeout, so
// that only a run whose server died is claimed again.
func (r *runner) lease() time.Duration {
	longest := defaultCommandTimeout
	for _, c := range r.s.commands {
		longest = max(longest, time.Duration(c.Timeout))
	}
	return 2*longest + time.Minute
}

func (r *runner) execute(ctx context.Context, run *hookline.Run) {
	c := r.s.commands[run.Command]
	x, err := r.s.st.ReceivedGet(ctx, run.SourceID, run.ReceivedID)
	if err != nil {
		r.finish(ctx, run, -1, nil, fmt.Errorf("load the request: %w", err))
		return
	}
	timeout := time.Duration(c.Timeout)
	if timeout <= 0 {
		timeout = defaultCommandTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, c.Path, c.Args...)
	cmd.Dir = c.Dir
	cmd.Stdin = bytes.NewReader(x.Body)
	cmd.Env = append(cmd.Environ(),
		"HOOKLINE_SOURCE_ID="+x.SourceID, "HOOKLINE_REQUEST_ID="+x.ID, "HOOKLINE_EVENT_TYPE="+x.EventType,
		"HOOKLINE_DELIVERY_ID="+x.DeliveryID, "HOOKLINE_RUN_ID="+run.ID)
	view := hookline.NewFields(x.View)
	for name, path := range c.Env {
		if v, ok := view.Lookup(path); ok {
			cmd.Env = append(cmd.Env, name+"="+v)
		}
	}
	out := &cappedBuffer{max: maxOutput}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err = cmd.Run()
	if ctx.Err() != nil {
		// The server is stopping: the run goes back to due on restart
		// when its lease ends, rather than counting as failed.
		return
	}
	code := 0
	if cmd.ProcessState != nil {
		code = cmd.ProcessState.ExitCode()
	}
	if cctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("killed after the %s timeout", timeout)
	}
	r.s.log.Info("command run", "command", run.Command, "run_id", run.ID, "request_id", x.ID, "exit_code", code,
		"duration_ms", time.Since(start).Milliseconds(), "ok", err == nil, "output", logOutput(out.String()))
	r.finish(ctx, run, code, out, err)
}

// finish records a run's outcome, queueing a retry when its command allows
// one.
func (r *runner) finish(ctx context.Context, run *hookline.Run, code int, out *cappedBuffer, err error) {
	now := r.s.now()
	run.Attempts++
	run.ExitCode, run.UpdatedAt, run.Error, run.NextAttempt = code, now, "", time.Time{}
	if out != nil {
		run.Output = out.String()
	}
	run.Status = hookline.RunSucceeded
	if err != nil {
		run.Error = err.Error()
		run.Status = hookline.RunFailed
		c, known := r.s.commands[run.Command]
		if known && run.Attempts <= c.Retries {
			run.Status = hookline.RunPending
			run.NextAttempt = now.Add(retryDelays[min(run.Attempts-1, len(retryDelays)-1)])
		}
	}
	if err := r.s.st.RunFinish(context.WithoutCancel(ctx), run); err != nil {
		r.s.log.Error("record command run", "run_id", run.ID, "err", err)
	}
}

// maxLogOutput caps the output quoted in the log line of a run; the run's
// record keeps more (maxOutput).
const maxLogOutput = 1 << 10

// logOutput cuts a run's output to what its log line quotes.
func logOutput(s string) string {
	if len(s) <= maxLogOutput {
		return s
	}
	cut := maxLogOutput
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(truncated)"
}

// cappedBuffer keeps the first max bytes written to it and notes that more
// was cut.
type cappedBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	max  int
	more bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room < len(p) {
		b.buf.Write(p[:max(room, 0)])
		b.more = true
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *cappedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.more {
		return b.buf.String() + "…(truncated)"
	}
	return b.buf.String()
}
