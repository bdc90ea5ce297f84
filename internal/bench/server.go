package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// listeningRE matches the line `hookline serve` prints on stdout once it
// accepts requests.
var listeningRE = regexp.MustCompile(`^hookline (\S+) listening on (http://\S+)`)

// Server is a `hookline serve` child process.
type Server struct {
	// URL is the base URL it listens on.
	URL string
	// Version is the version it reports.
	Version string
	// PID is its process ID.
	PID int
	// Startup is the time from starting the process to its listening
	// line: process start, database open and migrations, recovery of
	// stale claims, and the listener.
	Startup time.Duration

	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	waitErr error
}

// StartServer runs bin with args (which start with "serve") and env, its
// stderr going to logPath, and waits up to timeout for it to listen.
func StartServer(ctx context.Context, bin string, args, env []string, logPath string, timeout time.Duration) (*Server, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stderr = logFile
	setDeathSignal(cmd)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	s := &Server{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start server %s: %w", bin, err)
	}
	s.PID = cmd.Process.Pid
	found := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- [2]string{m[1], m[2]}:
				default:
				}
			}
		}
		// Reading to EOF keeps the child from blocking on a full pipe.
		io.Copy(io.Discard, stdout) //nolint:errcheck // the pipe closes when the child exits
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case m := <-found:
		s.Startup = time.Since(begin)
		s.Version, s.URL = m[0], m[1]
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("server exited before listening (%v); its log ends:\n%s", s.waitErr, s.LogTail(2048))
	case <-t.C:
		err = fmt.Errorf("server did not listen within %s; its log ends:\n%s", timeout, s.LogTail(2048))
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.Kill()
	return nil, err
}

// Stop sends SIGTERM and waits up to timeout for a graceful exit, then
// kills the process. It returns how long the exit took and the exit error.
func (s *Server) Stop(timeout time.Duration) (time.Duration, error) {
	begin := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return 0, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-s.exited:
		took := time.Since(begin)
		if s.waitErr != nil {
			return took, fmt.Errorf("server exited with %v; its log ends:\n%s", s.waitErr, s.LogTail(2048))
		}
		return took, nil
	case <-t.C:
		s.Kill()
		return time.Since(begin), fmt.Errorf("server did not stop within %s after SIGTERM; killed", timeout)
	}
}

// Kill ends the process at once and waits for it.
func (s *Server) Kill() {
	s.cmd.Process.Kill() //nolint:errcheck // it may have exited already
	<-s.exited
}

// Exited is closed when the process has exited.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// LogTail returns up to the last n bytes of the server's stderr.
func (s *Server) LogTail(n int64) string {
	f, err := os.Open(s.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		f.Seek(st.Size()-n, io.SeekStart) //nolint:errcheck // a failed seek reads from the start
	}
	b, _ := io.ReadAll(f)
	return strings.TrimSpace(string(b))
}

// childEnv returns this process's environment without HOOKLINE_ settings,
// so that a run does not depend on the shell it was started from, plus
// the admin token.
func childEnv(token string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOOKLINE_") {
			env = append(env, kv)
		}
	}
	return append(env, "HOOKLINE_ADMIN_TOKEN="+token)
}
