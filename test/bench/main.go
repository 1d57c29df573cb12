// Command bench drives the real manager binary end to end at scale and
// prints the figures of issue 7, one line each, appending a dated block
// to docs/benchmarks.md:
//
//	go run ./test/bench --engines 1000 --containers 30 --docs docs/benchmarks.md
//
// It builds bin/swarm-equivalents of cmd/swarm and cmd/enginesim into a
// temporary directory (or uses --swarm/--enginesim), starts the simulator
// and `swarm manage` with file:// discovery as child processes, waits
// until every engine is healthy and every container tracked, then
// measures. With --lab it also compares `docker run -d` through the
// manager with the same call straight to a real engine of test/lab.
// Children are stopped by PID. Correctness failures (a failed create, a
// short listing, a lost event) are errors, never figures.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/swarmlab/swarm/api"
)

// options are the benchmark's knobs; conditions printed with each figure
// come from here.
type options struct {
	Engines, PerEngine int
	Latency            time.Duration
	Clients, Creates   int
	// Listers list every container back to back during figure 1.
	Listers           int
	ListSamples       int
	InfoSamples       int
	Listeners, Events int
	Prefill           int
	EventInterval     time.Duration
	// Settle is how long the manager rests after the initial sync for the
	// at-rest memory figure: RSS is sampled once a second from when the
	// sync's connections idled out (10 s) to Settle.
	Settle time.Duration
	// ListRest is how long after the last listing of figure 2 the second
	// at-rest window ends; it spans the 20 s before (0: not measured).
	ListRest         time.Duration
	SwarmBin, SimBin string
	Docs             string
	Lab              bool
	LabOnly          bool // figure 6 alone
	LabRuns          int
	// Floor measures figure 1's load through a null proxy instead of the
	// manager (floorFigure), and nothing else.
	Floor bool
	Log   io.Writer // children's stderr
	// ProfileDir, when set, receives a CPU profile of the manager for the
	// first ProfileSeconds of each figure (figure-N.pprof).
	ProfileDir     string
	ProfileSeconds int
}

func defaultOptions() options {
	return options{
		Engines: 1000, PerEngine: 30, Clients: 64, Creates: 4000, ListSamples: 20, InfoSamples: 100,
		Listeners: 500, Events: 600, Prefill: 3200, EventInterval: 50 * time.Millisecond, LabRuns: 40, ProfileSeconds: 10,
		Settle: 30 * time.Second, ListRest: api.ListingCacheIdle + 35*time.Second,
	}
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == nullProxyArg {
		if err := serveNullProxy(os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "bench %s: %v\n", nullProxyArg, err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		}
		os.Exit(2)
	}
	opts.Log = os.Stderr
	res, err := run(ctx, opts, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
	if opts.Docs != "" {
		cmd := "go run ./test/bench " + strings.Join(os.Args[1:], " ")
		if err := appendDocs(opts.Docs, cmd, res.Figures); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(1)
		}
	}
}

func parseFlags(args []string) (options, error) {
	o := defaultOptions()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.IntVar(&o.Engines, "engines", o.Engines, "simulated engines")
	fs.IntVar(&o.PerEngine, "containers", o.PerEngine, "pre-existing containers per engine (at least 2)")
	fs.DurationVar(&o.Latency, "latency", o.Latency, "latency the simulator adds to every engine call")
	fs.IntVar(&o.Clients, "clients", o.Clients, "concurrent clients for create+start")
	fs.IntVar(&o.Listers, "listers", o.Listers, "clients listing every container back to back during create+start, as docker-gen does on every event (0: none)")
	fs.IntVar(&o.Creates, "creates", o.Creates, "containers created and started through the manager")
	fs.IntVar(&o.ListSamples, "list-samples", o.ListSamples, "timed GET /containers/json?all=1")
	fs.IntVar(&o.InfoSamples, "info-samples", o.InfoSamples, "timed GET /info")
	fs.IntVar(&o.Listeners, "listeners", o.Listeners, "reading /events listeners (one more never reads)")
	fs.IntVar(&o.Events, "events", o.Events, "engine events triggered while they listen")
	fs.IntVar(&o.Prefill, "prefill", o.Prefill, "events sent to the never-reading listener alone first, to fill its socket buffers (-1: enough to overflow it on any Linux, from net.ipv4.tcp_wmem)")
	fs.DurationVar(&o.EventInterval, "event-interval", o.EventInterval, "pause between two triggered events")
	fs.DurationVar(&o.Settle, "settle", o.Settle, "rest after the initial sync for the at-rest memory figure, sampled once a second from when the sync's call connections idled out (10 s) (0: measure right after sync only)")
	fs.DurationVar(&o.ListRest, "list-rest", o.ListRest, "when the at-rest window after the listings ends, counted from the last listing of figure 2; it spans the 20 s before, once the API dropped its listing cache (after a minute without listings) and the collector returned the memory (0: not measured)")
	fs.StringVar(&o.SwarmBin, "swarm", "", "manager binary (default: build ./cmd/swarm)")
	fs.StringVar(&o.SimBin, "enginesim", "", "simulator binary (default: build ./cmd/enginesim)")
	fs.StringVar(&o.Docs, "docs", "", "append a dated block of the figures to this file (e.g. docs/benchmarks.md)")
	fs.BoolVar(&o.Lab, "lab", false, "also measure docker run -d latency on the real-engine lab (root; brings test/lab up and down)")
	fs.BoolVar(&o.LabOnly, "lab-only", false, "measure figure 6 alone (implies --lab; no simulator)")
	fs.BoolVar(&o.Floor, "floor", false, "measure figure 1's load through a null proxy (only the HTTP calls a manager makes, no logic) instead of the manager, and nothing else")
	fs.IntVar(&o.LabRuns, "lab-runs", o.LabRuns, "docker run -d pairs (manager, direct) on the lab")
	fs.StringVar(&o.ProfileDir, "profile-dir", "", "write a CPU profile of the manager per figure into this directory (go tool pprof)")
	fs.IntVar(&o.ProfileSeconds, "profile-seconds", o.ProfileSeconds, "length of each CPU profile")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.Lab = o.Lab || o.LabOnly
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q: every setting is a flag, see -h", fs.Arg(0))
	}
	return o, o.validate()
}

func (o options) validate() error {
	type check struct {
		name     string
		v, lo, h int
	}
	for _, c := range []check{
		{"--engines", o.Engines, 1, 20000}, {"--containers", o.PerEngine, 2, 10000},
		{"--clients", o.Clients, 1, 4096}, {"--listers", o.Listers, 0, 64}, {"--creates", o.Creates, 1, 1_000_000},
		{"--list-samples", o.ListSamples, 1, 10000}, {"--info-samples", o.InfoSamples, 1, 100000},
		{"--listeners", o.Listeners, 1, 10000}, {"--events", o.Events, 1, 1_000_000}, {"--prefill", o.Prefill, -1, 1_000_000},
		{"--lab-runs", o.LabRuns, 1, 10000},
	} {
		if c.v < c.lo || c.v > c.h {
			return fmt.Errorf("%s %d: must be between %d and %d", c.name, c.v, c.lo, c.h)
		}
	}
	if o.Floor && o.LabOnly {
		return errors.New("--floor and --lab-only each measure one thing alone: choose one")
	}
	if o.EventInterval <= 0 || o.Latency < 0 || o.Settle < 0 || o.ListRest < 0 {
		return errors.New("--event-interval must be positive, --latency, --settle and --list-rest not negative")
	}
	return nil
}

// figure is one printed line.
type figure struct {
	Name       string
	Value      float64
	Unit       string
	Target     string
	Met        bool
	Conditions string
}

func (f figure) String() string {
	verdict := "MISSED"
	switch {
	case f.Target == "-":
		verdict = "info"
	case f.Met:
		verdict = "met"
	}
	return fmt.Sprintf("%-42s %10.2f %-14s target %-10s %-6s %s", f.Name, f.Value, f.Unit, f.Target, verdict, f.Conditions)
}

// appendDocs adds a dated block under "## Manager at scale", creating
// the heading the first time. Blocks are only ever appended, so other
// sections of the file are left alone.
func appendDocs(path, command string, figs []figure) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("--docs %s: %w", path, err)
	}
	var b strings.Builder
	if !strings.Contains(string(old), "\n## Manager at scale") && !strings.HasPrefix(string(old), "## Manager at scale") {
		b.WriteString("\n## Manager at scale\n\n")
		b.WriteString("Figures of issue 7 from `test/bench` (the real `swarm manage` binary against `cmd/enginesim`);\n")
		b.WriteString("one block per run, newest last. Everything runs on the one machine named in the block.\n")
	}
	fmt.Fprintf(&b, "\n### %s — %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), machine())
	fmt.Fprintf(&b, "`%s`\n\n", command)
	b.WriteString("| figure | value | unit | target | met | conditions |\n|---|---|---|---|---|---|\n")
	for _, f := range figs {
		met := "no"
		switch {
		case f.Target == "-":
			met = "–"
		case f.Met:
			met = "yes"
		}
		fmt.Fprintf(&b, "| %s | %.2f | %s | %s | %s | %s |\n", f.Name, f.Value, f.Unit, f.Target, met, f.Conditions)
	}
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("--docs %s: %w", path, err)
	}
	_, err = fh.WriteString(b.String())
	return errors.Join(err, fh.Close())
}

// machine names the CPU and core count the figures were taken on.
func machine() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	load := "?"
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(data)); len(f) >= 3 {
			load = strings.Join(f[:3], " ")
		}
	}
	return fmt.Sprintf("%s, %d cores (nproc), load average %s at the end", model, nproc(), load)
}
