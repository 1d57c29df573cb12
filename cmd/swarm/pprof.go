package main

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
)

// startPprof serves the runtime profiles on addr for benchmarks and
// debugging (`swarm manage --pprof 127.0.0.1:6060`). It is a separate
// listener so the profiles never share the Docker API's address, and it
// has no authentication: bind it to loopback only. The returned func
// closes it.
func startPprof(addr string, logger *slog.Logger) (func(), error) {
	// Contention is what limits the manager on few cores; sample one
	// mutex contention event in 20 so /debug/pprof/mutex shows it.
	runtime.SetMutexProfileFraction(20)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, usagef("--pprof %s: %v", addr, err)
	}
	srv := &http.Server{Handler: mux, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("pprof listener stopped", "addr", addr, "err", err)
		}
	}()
	logger.Info("pprof listening", "addr", l.Addr().String())
	return func() { _ = srv.Close() }, nil
}

// checkPprofAddr refuses addresses other hosts could reach: the profiles
// expose the command line and memory contents.
func checkPprofAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usagef("--pprof %q: want 127.0.0.1:PORT: %v", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return usagef("--pprof %q: bind the profiles to a loopback address such as 127.0.0.1:6060", addr)
	}
	return nil
}
