package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/swarmlab/swarm/api"
	"github.com/swarmlab/swarm/cluster"
	"github.com/swarmlab/swarm/cluster/engine"
	"github.com/swarmlab/swarm/discovery"
	"github.com/swarmlab/swarm/discovery/token"
	"github.com/swarmlab/swarm/filters"
	"github.com/swarmlab/swarm/pki"
	"github.com/swarmlab/swarm/scheduler"
)

// runManage runs the manager until SIGINT or SIGTERM.
func runManage(args []string, _, stderr io.Writer) int {
	cfg, err := parseManage(args, os.Getenv, stderr)
	if err != nil {
		return exitUsage(stderr, err)
	}
	logger, err := newLogger(cfg.LogLevel, stderr)
	if err != nil {
		return exitUsage(stderr, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var busy func() // nil: the collector keeps the user's GOGC
	if percent := setGCDefault(os.Getenv, logger); os.Getenv("GOGC") == "" {
		ticker := time.NewTicker(quietCheck)
		defer ticker.Stop()
		wake := make(chan struct{}, 1)
		busy = func() {
			select {
			case wake <- struct{}{}:
			default: // a wake is already pending
			}
		}
		go quietGC(ctx, ticker.C, wake, allocated, gcControl{setPercent: debug.SetGCPercent, release: debug.FreeOSMemory}, percent, logger)
	}
	if err := manage(ctx, cfg, logger, busy); err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			return exitUsage(stderr, err)
		}
		logger.Error("manager stopped", "err", err)
		return 1
	}
	return 0
}

// manage builds the manager from cfg and serves until ctx ends. busy, if
// not nil, is called as a request that allocates much begins (api.Config).
func manage(ctx context.Context, cfg *manageConfig, logger *slog.Logger, busy func()) error {
	chain, err := filters.ByName(cfg.Filters)
	if err != nil {
		return usagef("--filter: %v", err)
	}
	strategy, err := scheduler.ParseStrategy(cfg.Strategy)
	if err != nil {
		return usagef("--strategy: %v", err)
	}
	overcommit := cfg.Overcommit
	if overcommit == 0 {
		overcommit = -1 // scheduler.Config reads 0 as "default"; the user asked for none
	}
	serverTLS, err := pki.ServerConfig(cfg.TLS)
	if err != nil {
		return usagef("%v", err)
	}
	policy, err := pki.NewEnginePolicy(cfg.EngineTLS)
	if err != nil {
		return usagef("%v", err)
	}
	timing := token.Timing{Heartbeat: cfg.Heartbeat, TTL: cfg.GossipTTL}.WithDefaults()
	if err := timing.Validate(); err != nil {
		return usagef("%v", err)
	}
	retention := cfg.LostRetention
	if retention == 0 {
		retention = -1 // token.ManagerConfig reads 0 as "default"; the user asked for none
	}
	disc, err := discovery.New(cfg.Discovery, discovery.Options{
		Logger: logger,
		Token: token.Factory(token.ManagerConfig{
			Bind: cfg.GossipAddr, Advertise: cfg.GossipAdv, Timing: timing, Retention: retention, Logger: logger,
		}),
	})
	if err != nil {
		return usagef("discovery %q: %v", discoveryForLog(cfg.Discovery), err)
	}

	if cfg.Pprof != "" {
		stopPprof, err := startPprof(cfg.Pprof, logger)
		if err != nil {
			return err
		}
		defer stopPprof()
	}

	c, err := cluster.New(cluster.Config{
		Scheduler: scheduler.New(scheduler.Config{Filters: chain, Strategy: strategy, Overcommit: overcommit}),
		Dial: func(addr string) (cluster.Engine, error) {
			tlsCfg, err := policy.ConfigFor(addr)
			if err != nil {
				return nil, err
			}
			return engine.Dial(addr, engine.Options{TLS: tlsCfg})
		},
		CreateRetry:        cfg.CreateRetry,
		RefreshMinInterval: cfg.RefreshMin,
		RefreshMaxInterval: cfg.RefreshMax,
		FailureRetry:       cfg.FailureRetry,
		EventHistory:       cfg.EventHistory,
		Logger:             logger,
		Rand:               rand.New(rand.NewSource(time.Now().UnixNano())),
	})
	if err != nil {
		return err
	}
	defer c.Stop()

	handler, err := api.New(api.Config{Cluster: api.FromCluster(c), Version: version, Logger: logger, MaxHijacked: cfg.MaxHijacked, Busy: busy})
	if err != nil {
		return err
	}
	listeners, err := listen(cfg.Hosts, serverTLS)
	if err != nil {
		return err
	}

	var wg sync.WaitGroup
	discCtx, cancelDisc := context.WithCancel(ctx)
	defer cancelDisc()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for u := range disc.Watch(discCtx) {
			if u.Err != nil {
				logger.Warn("discovery", "source", discoveryForLog(cfg.Discovery), "err", u.Err)
			}
			// Down (token:// engines whose join agent is gone) stay known
			// but out of placement; nodes:// and file:// never set it.
			c.SetMembership(u.Addrs, u.Down)
		}
	}()

	errc := make(chan error, len(listeners))
	servers := make([]*http.Server, 0, len(listeners))
	for _, l := range listeners {
		srv := newHTTPServer(handler, logger, defaultTimeouts)
		servers = append(servers, srv)
		logger.Info("listening", "addr", l.Addr().String(), "tls", serverTLS != nil, "discovery", discoveryForLog(cfg.Discovery),
			"strategy", cfg.Strategy, "filters", cfg.Filters)
		go func() { errc <- srv.Serve(l) }()
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(shutdownCtx) // hijacked streams are not waited for
		_ = srv.Close()
	}
	cancelDisc()
	wg.Wait()
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	return nil
}

// serverTimeouts bound how long a client may take before the manager gives
// up on its connection.
type serverTimeouts struct {
	// ReadHeader bounds the TLS handshake plus the request line and
	// headers, as one deadline: a client trickling a byte at a time
	// (slow-loris) is cut off when it expires.
	ReadHeader time.Duration
	// Idle bounds the wait for the next request on a kept-alive connection.
	Idle time.Duration
}

var defaultTimeouts = serverTimeouts{ReadHeader: 10 * time.Second, Idle: 2 * time.Minute}

// newHTTPServer sets the timeouts that keep slow or idle clients from
// holding the manager's connections (slow-loris). There is no read or
// write timeout on bodies: `docker events`, `logs -f` and attach stream
// for hours, and `docker load` uploads for minutes.
func newHTTPServer(h http.Handler, logger *slog.Logger, t serverTimeouts) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// listen opens every -H address; unix sockets are created mode 0600 since
// whoever reaches the manager controls every engine.
func listen(hosts []listenAddr, tlsCfg *tls.Config) ([]net.Listener, error) {
	var out []net.Listener
	closeAll := func() {
		for _, l := range out {
			l.Close()
		}
	}
	for _, h := range hosts {
		if h.Network == "unix" {
			if err := os.Remove(h.Addr); err != nil && !errors.Is(err, os.ErrNotExist) {
				closeAll()
				return nil, fmt.Errorf("-H %s: remove stale socket: %w", h, err)
			}
		}
		l, err := net.Listen(h.Network, h.Addr)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("-H %s: %w", h, err)
		}
		if h.Network == "unix" {
			if err := os.Chmod(h.Addr, 0o600); err != nil {
				l.Close()
				closeAll()
				return nil, fmt.Errorf("-H %s: %w", h, err)
			}
		}
		if tlsCfg != nil {
			l = tls.NewListener(l, tlsCfg)
		}
		out = append(out, l)
	}
	return out, nil
}
