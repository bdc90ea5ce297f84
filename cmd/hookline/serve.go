package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/api"
	"github.com/hookline/hookline/internal/config"
	"github.com/hookline/hookline/internal/dispatch"
	"github.com/hookline/hookline/internal/netguard"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlite"
	"github.com/spf13/cobra"
)

// tokenHashSetting names the setting that keeps the generated admin
// token's SHA-256; the token itself is never stored.
const tokenHashSetting = "admin_token_sha256"

func serveCommand(getenv func(string) string) *cobra.Command {
	cfg := config.Default()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the hookline server: the REST API and the delivery engine",
		Long: `Run the hookline server: the REST API and the delivery engine.

With no flags it keeps its data in ./hookline.db (SQLite, created if missing)
and listens on 127.0.0.1:8071. The API's bearer token is HOOKLINE_ADMIN_TOKEN
if set; otherwise one is generated on first start and printed once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.LoadEnv(cmd.Flags(), getenv); err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			return serve(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cfg.Bind(cmd.Flags())
	return cmd
}

func migrateCommand(getenv func(string) string) *cobra.Command {
	cfg := config.Default()
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations and exit",
		Long:  "Apply pending database migrations and exit. `hookline serve` also applies them at start.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.LoadEnv(cmd.Flags(), getenv); err != nil {
				return err
			}
			st, err := sqlite.Open(cmd.Context(), cfg.DB)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is up to date\n", cfg.DB)
			return st.Close()
		},
	}
	cmd.Flags().StringVar(&cfg.DB, "db", cfg.DB, "SQLite database file (env HOOKLINE_DB)")
	return cmd
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serve runs the server until ctx ends, then shuts down gracefully: stop
// taking requests, commit what was accepted, let in-flight deliveries
// finish (bounded by the shutdown timeout), and close the store.
func serve(ctx context.Context, cfg config.Config, stdout, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	start := time.Now()
	st, err := sqlite.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer st.Close()

	tokenHash, err := adminTokenHash(ctx, st, cfg.AdminToken, stdout)
	if err != nil {
		return err
	}

	client := dispatch.NewClient(netguard.Dialer(cfg.AllowPrivateNetworks, 10*time.Second), cfg.RequestTimeout)
	d := dispatch.New(st, dispatch.Options{
		Schedule:     cfg.RetrySchedule,
		Timeout:      cfg.RequestTimeout,
		Workers:      cfg.Workers,
		DisableAfter: cfg.DisableAfter,
		Client:       client,
		Logger:       log,
		UserAgent:    "hookline/" + version,
	})
	commits := store.NewGroupCommit(st, 512, d.Wake)
	handler := api.New(api.Options{
		Store:        st,
		Publisher:    commits,
		TokenHash:    tokenHash,
		MaxBodyBytes: cfg.MaxBodyBytes,
		Logger:       log,
		Wake:         d.Wake,
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		commits.Stop()
		return fmt.Errorf("listen on %s: %w (is another server using the port? choose one with --addr)", cfg.Addr, err)
	}
	if err := d.Start(context.WithoutCancel(ctx)); err != nil {
		ln.Close()
		commits.Stop()
		return err
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("hookline listening", "addr", ln.Addr().String(), "db", cfg.DB, "startup_ms", time.Since(start).Milliseconds())
	fmt.Fprintf(stdout, "hookline %s listening on http://%s\n", version, ln.Addr())

	select {
	case <-ctx.Done():
	case err = <-serveErr:
		log.Error("http server stopped", "err", err)
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	if err := srv.Shutdown(shutdownCtx); err != nil {
		errs = append(errs, fmt.Errorf("stop http server: %w", err))
	}
	commits.Stop()
	if err := d.Stop(shutdownCtx); err != nil {
		errs = append(errs, fmt.Errorf("stop dispatcher: %w", err))
	}
	return errors.Join(errs...)
}

// adminTokenHash returns the SHA-256 of the API's admin token: of the
// configured one, or of one generated and printed on first start.
func adminTokenHash(ctx context.Context, st store.Store, configured string, out io.Writer) ([]byte, error) {
	if configured != "" {
		sum := sha256.Sum256([]byte(configured))
		return sum[:], nil
	}
	stored, err := st.SettingGet(ctx, tokenHashSetting)
	if err == nil {
		sum, err := hex.DecodeString(stored)
		if err != nil || len(sum) != sha256.Size {
			return nil, fmt.Errorf("stored admin token hash is damaged; set HOOKLINE_ADMIN_TOKEN to choose a token")
		}
		return sum, nil
	}
	if !errors.Is(err, hookline.ErrNotFound) {
		return nil, err
	}
	token := "hk_" + rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(token))
	if err := st.SettingPut(ctx, tokenHashSetting, hex.EncodeToString(sum[:])); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "Generated an admin API token. It is shown only this once; hookline keeps only its hash:\n\n    %s\n\nUse it as \"Authorization: Bearer <token>\". To choose your own, set HOOKLINE_ADMIN_TOKEN.\n\n", token)
	return sum[:], nil
}
