// Command enginesim runs many simulated Docker engines in one process, each
// on its own loopback port, so the swarm manager can be driven at the scale
// classic Swarm was tested at (1,000 engines, 30,000 containers) on one
// machine. Every engine is a test/fakeengine.Engine: it speaks the Engine
// API subset the manager uses and emits the events a real engine would.
//
//	enginesim --engines 1000 --containers-per-engine 30 \
//	  --labels 'model=i5|i7,zone=east|west|north' \
//	  --listen 127.0.0.1:20000 --addrs-file /tmp/engines.txt
//
// It writes one host:port per line to --addrs-file (ready for the
// manager's file:// discovery), prints a line starting with "ready" on
// stdout once every engine listens, and runs until SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"
)

// Limits that keep a typo from asking for a million listeners.
const (
	maxEngines             = 20000
	maxContainersPerEngine = 10000
	maxLatency             = 10 * time.Second
)

// config is the validated command line.
type config struct {
	Engines      int
	PerEngine    int
	Labels       []labelSpread
	Latency      time.Duration
	Host         string // listen IP
	BasePort     int    // 0: each engine takes a free port
	AddrsFile    string
	EventHistory int
	Pprof        string // loopback address for runtime profiles, or ""
	GCPercent    int    // garbage collector target (GOGC); -1 leaves the runtime's setting
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run parses args, starts the engines and blocks until ctx ends. It
// returns the process exit code: 2 for bad flags, 1 when the engines
// could not start.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "enginesim: %v\n", err)
		}
		return 2
	}
	if err := raiseFileLimit(uint64(cfg.Engines)*8 + 256); err != nil {
		fmt.Fprintf(stderr, "enginesim: %v\n", err)
		return 1
	}
	if cfg.GCPercent != -1 {
		debug.SetGCPercent(cfg.GCPercent)
	}
	if cfg.Pprof != "" {
		stopPprof, err := startPprof(cfg.Pprof)
		if err != nil {
			fmt.Fprintf(stderr, "enginesim: %v\n", err)
			return 2
		}
		defer stopPprof()
	}
	sim, err := startSim(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "enginesim: %v\n", err)
		return 1
	}
	defer sim.Close()
	fmt.Fprintf(stdout, "ready: %d engines, %d containers each, first %s, last %s, addresses in %s\n",
		cfg.Engines, cfg.PerEngine, sim.engines[0].Addr(), sim.engines[len(sim.engines)-1].Addr(), cfg.AddrsFile)
	<-ctx.Done()
	return 0
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("enginesim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	engines := fs.Int("engines", 10, "number of simulated engines (1-"+strconv.Itoa(maxEngines)+")")
	per := fs.Int("containers-per-engine", 0, "containers each engine already holds at start, two thirds running")
	labels := fs.String("labels", "", `engine labels dealt in turn, e.g. "model=i5|i7,zone=east|west" (every engine also gets sim=<index>)`)
	latency := fs.Duration("latency", 0, "delay added to every API call, e.g. 2ms")
	listen := fs.String("listen", "127.0.0.1:23750", "IP:BASEPORT; engine i listens on BASEPORT+i (port 0: any free ports)")
	addrs := fs.String("addrs-file", "", "file to write one host:port per line to, for file:// discovery (required)")
	history := fs.Int("event-history", 64, "events each engine keeps to replay for a since= query (memory per engine)")
	// The simulator shares the benchmark machine's cores with the manager: a
	// lazier collector trades memory, which the figures do not count for the
	// simulator, for CPU, which they do.
	gcPercent := fs.Int("gc-percent", 400, "garbage collector target percentage, as GOGC; -1 keeps GOGC or the default 100")
	pprofAddr := fs.String("pprof", "", "serve Go runtime profiles (net/http/pprof) on this loopback address, e.g. 127.0.0.1:6061")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: every setting is a flag, see -h", fs.Arg(0))
	}
	cfg := &config{Engines: *engines, PerEngine: *per, Latency: *latency, AddrsFile: *addrs, EventHistory: *history, Pprof: *pprofAddr, GCPercent: *gcPercent}
	var err error
	if cfg.Labels, err = parseLabels(*labels); err != nil {
		return nil, err
	}
	switch {
	case cfg.Engines < 1 || cfg.Engines > maxEngines:
		return nil, fmt.Errorf("--engines %d: must be between 1 and %d", cfg.Engines, maxEngines)
	case cfg.PerEngine < 0 || cfg.PerEngine > maxContainersPerEngine:
		return nil, fmt.Errorf("--containers-per-engine %d: must be between 0 and %d", cfg.PerEngine, maxContainersPerEngine)
	case cfg.Latency < 0 || cfg.Latency > maxLatency:
		return nil, fmt.Errorf("--latency %s: must be between 0 and %s", cfg.Latency, maxLatency)
	case cfg.AddrsFile == "":
		return nil, errors.New("--addrs-file is required: the manager reads the engine addresses from it (file:///PATH)")
	case cfg.GCPercent < -1 || cfg.GCPercent == 0 || cfg.GCPercent > 10000:
		return nil, fmt.Errorf("--gc-percent %d: must be -1 (keep GOGC) or between 1 and 10000", cfg.GCPercent)
	case cfg.EventHistory < 1 || cfg.EventHistory > 100000:
		return nil, fmt.Errorf("--event-history %d: must be between 1 and 100000", cfg.EventHistory)
	}
	if cfg.Host, cfg.BasePort, err = parseListen(*listen, cfg.Engines); err != nil {
		return nil, err
	}
	return cfg, nil
}

// parseListen checks that IP:BASEPORT leaves room for n consecutive ports.
func parseListen(s string, n int) (string, int, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("--listen %q: want IP:BASEPORT such as 127.0.0.1:23750: %v", s, err)
	}
	if net.ParseIP(host) == nil {
		return "", 0, fmt.Errorf("--listen %q: %q is not an IP address; use 127.0.0.1 for loopback", s, host)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", 0, fmt.Errorf("--listen %q: port %q must be a number from 0 to 65535", s, port)
	}
	if p != 0 && p+n-1 > 65535 {
		return "", 0, fmt.Errorf("--listen %q: %d engines need ports %d-%d, past 65535: pick a base port of at most %d", s, n, p, p+n-1, 65536-n)
	}
	return host, p, nil
}

// raiseFileLimit lifts the soft open-file limit to want (capped by the
// hard limit): every engine needs a listener and the manager's
// connections. It fails only when the hard limit is too low.
func raiseFileLimit(want uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("read open-file limit: %w", err)
	}
	if lim.Cur >= want {
		return nil
	}
	if lim.Max < want {
		return fmt.Errorf("open-file hard limit is %d but this many engines need about %d: raise it (ulimit -Hn %d as root) or use fewer --engines", lim.Max, want, want)
	}
	lim.Cur = want
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raise open-file limit to %d: %w", want, err)
	}
	return nil
}
