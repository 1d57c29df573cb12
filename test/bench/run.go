package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/swarmlab/swarm/api"
	"github.com/swarmlab/swarm/cluster/engine"
	"github.com/swarmlab/swarm/test/proc"
)

// result is what one run measured, with the facts the smoke test checks.
type result struct {
	Figures  []figure
	Healthy  int // engines healthy before measuring
	Tracked  int // containers the manager tracked before measuring
	Listed   int // containers in the last timed listing
	Created  int // create+start pairs that succeeded
	Fanout   fanout
	RSS      int64 // at rest
	HeapUsed int64 // at rest
	// ListedRSS is the RSS once the manager has been listed (figure 2).
	ListedRSS int64
	// RelistedRSS is the median RSS at rest after the listings (0 when
	// not measured).
	RelistedRSS int64
	// ListenersRSS is the RSS while figure 4's listeners are subscribed.
	ListenersRSS int64
}

func nproc() int { return runtime.NumCPU() }

// run starts the simulator and the manager, measures, and stops both.
// Each figure is printed to out as soon as it is known.
func run(ctx context.Context, o options, out io.Writer) (*result, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if err := raiseFileLimit(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "swarm-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if o.SwarmBin == "" || o.SimBin == "" {
		root, err := moduleRoot()
		if err != nil {
			return nil, err
		}
		swarm, sim, err := buildBinaries(ctx, root, dir)
		if err != nil {
			return nil, err
		}
		o.SwarmBin, o.SimBin = or(o.SwarmBin, swarm), or(o.SimBin, sim)
	}

	res := &result{}
	if o.LabOnly {
		fig, err := labFigure(ctx, o)
		if err != nil {
			return nil, fmt.Errorf("lab: %w", err)
		}
		res.Figures = append(res.Figures, fig)
		fmt.Fprintln(out, fig)
		return res, nil
	}

	addrsFile := filepath.Join(dir, "engines.txt")
	simOut, simW := io.Pipe()
	defer simW.Close()
	simArgs := []string{
		"--engines", fmt.Sprint(o.Engines), "--containers-per-engine", fmt.Sprint(o.PerEngine),
		"--labels", "model=i5|i7|xeon,zone=east|west", "--latency", o.Latency.String(),
		"--listen", "127.0.0.1:0", "--addrs-file", addrsFile,
	}
	simPprof := ""
	if o.ProfileDir != "" {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		simPprof = fmt.Sprintf("127.0.0.1:%d", port)
		simArgs = append(simArgs, "--pprof", simPprof)
	}
	sim, err := startProc("enginesim", o.SimBin, simArgs, simW, o.Log)
	if err != nil {
		return nil, err
	}
	defer sim.Stop()
	readyCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := waitReady(readyCtx, sim, simOut); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(addrsFile)
	if err != nil {
		return nil, err
	}
	addrs := strings.Fields(string(data))
	if o.Floor {
		fig, err := floorFigure(ctx, o, sim, addrsFile)
		if err != nil {
			return nil, err
		}
		res.Created = o.Creates
		res.Figures = append(res.Figures, fig)
		fmt.Fprintln(out, fig)
		return res, nil
	}

	mgr, base, pprofAddr, err := startManager(o, "file://"+addrsFile)
	if err != nil {
		return nil, err
	}
	defer mgr.Stop()
	c := newClient(4)
	defer c.CloseIdleConnections()
	total := o.Engines * o.PerEngine
	t0 := time.Now()
	st, err := waitHealthy(readyCtx, c, base, mgr, o.Engines, total)
	if err != nil {
		return nil, err
	}
	res.Healthy, res.Tracked = st.Healthy, st.Containers
	fmt.Fprintf(out, "# %d engines healthy, %d containers tracked after %s\n", st.Healthy, st.Containers, time.Since(t0).Round(time.Millisecond))
	scale := fmt.Sprintf("%d engines, %d containers, engine latency %s", o.Engines, total, o.Latency)
	emit := func(f figure) {
		res.Figures = append(res.Figures, f)
		fmt.Fprintln(out, f)
	}

	// Memory first, while the manager holds exactly the seeded containers:
	// right after the sync (every engine's call connection still open),
	// then at rest once idle connections closed.
	mem, err := memoryFigure(ctx, c, mgr.PID(), pprofAddr)
	if err != nil {
		return nil, err
	}
	emit(figure{Name: "5. manager RSS right after sync", Value: mib(mem.RSS), Unit: "MiB", Target: "-", Met: true,
		Conditions: fmt.Sprintf("%s, after a forced GC; %s", scale, mem)})
	// RSS as the OS sees it, once a second while the manager rests: the
	// garbage collector makes it a sawtooth, which one sample after a
	// forced collection does not show.
	// Rest begins once the call connections the sync opened have idled
	// out (engine.DefaultIdleTimeout after the sync, with their buffers
	// and goroutines); a shorter --settle samples what there is.
	var window rssWindow
	restFrom := min(engine.DefaultIdleTimeout, o.Settle/2)
	if o.Settle > 0 {
		synced := time.Now()
		if window, err = sampleRSS(ctx, mgr.PID(), synced.Add(restFrom), synced.Add(o.Settle)); err != nil {
			return nil, err
		}
		if mem, err = memoryFigure(ctx, c, mgr.PID(), pprofAddr); err != nil {
			return nil, err
		}
	}
	// The figure is the window's median: the one sample after a forced
	// collection lands anywhere on the sawtooth.
	res.RSS, res.HeapUsed = mem.RSS, mem.HeapInuse
	how := fmt.Sprintf("%s after the initial sync, after a forced GC", o.Settle)
	if window.n > 0 {
		res.RSS = window.median
		how = fmt.Sprintf("%s from %s to %s after the initial sync; then after a forced GC %.1f MiB", window, restFrom, o.Settle, mib(mem.RSS))
	}
	emit(figure{Name: "5. manager RSS at rest", Value: mib(res.RSS), Unit: "MiB", Target: "≤ 100", Met: mib(res.RSS) <= 100,
		Conditions: fmt.Sprintf("%s, %s; %s", scale, how, mem)})
	emit(figure{Name: "5. manager heap per container", Value: float64(res.HeapUsed) / float64(total), Unit: "B/container",
		Target: "-", Met: true, Conditions: fmt.Sprintf("HeapInuse %.1f MiB at rest after GC ÷ %d tracked containers (includes per-engine state)", mib(res.HeapUsed), total)})

	prof := profilers{
		{dir: o.ProfileDir, addr: pprofAddr, seconds: o.ProfileSeconds, log: o.Log},
		{dir: o.ProfileDir, addr: simPprof, seconds: o.ProfileSeconds, log: o.Log, prefix: "sim-"},
	}
	if o.ProfileDir != "" {
		if err := os.MkdirAll(o.ProfileDir, 0o755); err != nil {
			return nil, fmt.Errorf("--profile-dir: %w", err)
		}
	}

	<-prof.start("heap")
	profiled := prof.start("figure-3-info")
	lat, _, err := timeGets(ctx, base, "/info", o.InfoSamples)
	if err != nil {
		return nil, err
	}
	p50 := percentile(lat, 50)
	emit(figure{Name: "3. GET /info p50", Value: ms(p50), Unit: "ms", Target: "≤ 30", Met: ms(p50) <= 30,
		Conditions: fmt.Sprintf("%s; %d sequential calls, p99 %.1f ms", scale, o.InfoSamples, ms(percentile(lat, 99)))})

	<-profiled
	profiled = prof.start("figure-2-list")
	lat, body, err := timeGets(ctx, base, "/containers/json?all=1", o.ListSamples)
	if err != nil {
		return nil, err
	}
	listEnd := time.Now()
	var listed []json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&listed); err != nil {
		return nil, fmt.Errorf("decode listing: %w", err)
	}
	res.Listed = len(listed)
	if res.Listed != total {
		return res, fmt.Errorf("GET /containers/json?all=1 returned %d containers, want %d", res.Listed, total)
	}
	p50 = percentile(lat, 50)
	emit(figure{Name: "2. GET /containers/json?all=1 p50", Value: ms(p50), Unit: "ms", Target: "≤ 150", Met: ms(p50) <= 150,
		Conditions: fmt.Sprintf("%s; %d sequential calls, %.1f MB body, p99 %.1f ms", scale, o.ListSamples, float64(len(body))/1e6, ms(percentile(lat, 99)))})
	// The first call finds nothing in the API's listing cache and encodes
	// every summary, as the first listing after a quiet spell does (the
	// manager rested for --settle, then answered figure 3's calls).
	emit(figure{Name: "2. first GET /containers/json?all=1", Value: ms(lat[0]), Unit: "ms", Target: "-", Met: true,
		Conditions: fmt.Sprintf("%s; the first of figure 2's calls: nothing cached, every summary encoded; the manager rested %s after the sync, then figure 3 ran", scale, o.Settle)})
	// A manager that is listed (docker ps, docker-gen) also holds every
	// container's encoded summary (api's summary cache) and a spare
	// listing buffer: the at-rest figure alone would flatter it.
	if mem, err = memoryFigure(ctx, c, mgr.PID(), pprofAddr); err != nil {
		return nil, err
	}
	res.ListedRSS = mem.RSS
	emit(figure{Name: "5. manager RSS after the listings", Value: mib(mem.RSS), Unit: "MiB", Target: "≤ 100", Met: mib(mem.RSS) <= 100,
		Conditions: fmt.Sprintf("%s, right after figure 2, after a forced GC; %s", scale, mem)})
	if o.ListRest > 0 {
		// Rest again: the API drops the listing cache a minute after the
		// last listing, and the collector then returns the memory.
		from := max(0, o.ListRest-20*time.Second)
		window, err := sampleRSS(ctx, mgr.PID(), listEnd.Add(from), listEnd.Add(o.ListRest))
		if err != nil {
			return nil, err
		}
		if mem, err = memoryFigure(ctx, c, mgr.PID(), pprofAddr); err != nil {
			return nil, err
		}
		res.RelistedRSS = window.median
		emit(figure{Name: "5. manager RSS at rest after the listings", Value: mib(window.median), Unit: "MiB", Target: "≤ 100", Met: window.n > 0 && mib(window.median) <= 100,
			Conditions: fmt.Sprintf("%s, %s from %s to %s after the last listing of figure 2 (the API keeps its listing cache %s after the last listing); then after a forced GC %.1f MiB; %s",
				scale, window, from, o.ListRest, api.ListingCacheIdle, mib(mem.RSS), mem)})
		// Figure 1 used to follow the listings at once: one more listing
		// brings the listing cache back, and the collector out of its
		// quiet mode at its next check (every second), so that figure 1
		// starts as it always did.
		if _, _, err := timeGets(ctx, base, "/containers/json?all=1", 1); err != nil {
			return nil, err
		}
		if !sleepCtx(ctx, 1500*time.Millisecond) {
			return nil, ctx.Err()
		}
	}

	<-profiled
	profiled = prof.start("figure-1-create")
	meter, err := startCPUMeter(mgr.PID(), sim.PID())
	if err != nil {
		return res, err
	}
	// --listers: docker-gen lists every container on every event, so a
	// busy cluster watched by it is listed back to back while it creates.
	listCtx, stopListing := context.WithCancel(ctx)
	type lister struct {
		n   int
		err error
	}
	listers := make(chan lister, o.Listers)
	for range o.Listers {
		go func() {
			n, err := listBackToBack(listCtx, base)
			listers <- lister{n, err}
		}()
	}
	rate, lat, err := createThroughput(ctx, base, o.Clients, o.Creates)
	stopListing()
	listings := 0
	var listErr error
	for range o.Listers {
		l := <-listers
		listings, listErr = listings+l.n, cmp.Or(listErr, l.err)
	}
	if err != nil {
		return res, fmt.Errorf("create+start through the manager: %w", err)
	}
	if listErr != nil {
		return res, fmt.Errorf("listing during figure 1: %w", listErr)
	}
	alongside := ""
	if o.Listers > 0 {
		alongside = fmt.Sprintf("; %d listers alongside, %d listings of every container during the figure", o.Listers, listings)
	}
	cpu, err := meter.perItem(o.Creates)
	if err != nil {
		return res, err
	}
	busy, steal, err := meter.machineShares()
	if err != nil {
		return res, err
	}
	res.Created = o.Creates
	emit(figure{Name: "1. create+start throughput", Value: rate, Unit: "containers/s", Target: "≥ 2000", Met: rate >= 2000,
		Conditions: fmt.Sprintf("%s; %d clients, %d containers, spread, all filters%s; CPU per container: manager %.2f ms, simulator %.2f ms, clients %.2f ms (%d cores, %.0f%% busy, %.0f%% stolen by the hypervisor)",
			scale, o.Clients, o.Creates, alongside, ms(cpu[0]), ms(cpu[1]), ms(cpu[2]), nproc(), 100*busy, 100*steal)})
	emit(figure{Name: "1. create+start latency p99", Value: ms(percentile(lat, 99)), Unit: "ms", Target: "-", Met: true,
		Conditions: fmt.Sprintf("each client's create then start, %d clients%s; p50 %.1f ms, max %.1f ms", o.Clients, alongside, ms(percentile(lat, 50)), ms(percentile(lat, 100)))})
	emit(figure{Name: "1. manager CPU per create+start", Value: ms(cpu[0]), Unit: "ms/container", Target: "-", Met: true,
		Conditions: fmt.Sprintf("the manager's user+system CPU during figure 1 ÷ containers: on %d cores of its own it would allow about %.0f containers/s", nproc(), float64(nproc())*1000/ms(cpu[0]))})

	<-profiled
	profiled = prof.start("figure-4-events")
	if o.Prefill < 0 {
		o.Prefill = max(0, overflowBound()-o.Events)
	}
	var withListeners memFigure
	res.Fanout, err = eventFanout(ctx, base, addrs, o.Listeners, o.Prefill, o.Events, o.EventInterval, func() (err error) {
		<-prof[:1].start("heap-listeners") // the manager's, with --profile-dir
		withListeners, err = memoryFigure(ctx, c, mgr.PID(), pprofAddr)
		return err
	})
	<-profiled
	if err != nil {
		return res, fmt.Errorf("event fan-out: %w", err)
	}
	f := res.Fanout
	emit(figure{Name: "4. event fan-out p99", Value: ms(f.P99), Unit: "ms", Target: "≤ 20", Met: ms(f.P99) <= 20 && f.NonReaderDropped && f.MinReceived == f.Triggered,
		Conditions: fmt.Sprintf("%d listeners × %d events every %s after %d prefill events; p50 %.1f ms, max %.1f ms; fewest received %d; non-reader dropped %v after %d events",
			o.Listeners, f.Triggered, o.EventInterval, o.Prefill, ms(f.P50), ms(f.Max), f.MinReceived, f.NonReaderDropped, f.NonReaderGot)})
	if f.MinReceived != f.Triggered {
		return res, fmt.Errorf("event fan-out: a reading listener got %d of %d events", f.MinReceived, f.Triggered)
	}
	res.ListenersRSS = withListeners.RSS
	emit(figure{Name: fmt.Sprintf("5. manager RSS with %d listeners", o.Listeners), Value: mib(withListeners.RSS), Unit: "MiB", Target: "-", Met: true,
		Conditions: fmt.Sprintf("%d engines, %d containers (figure 1's included), %d /events listeners subscribed, right after figure 4, after a forced GC; %s",
			o.Engines, total+o.Creates, o.Listeners, withListeners)})

	if o.Lab {
		fig, err := labFigure(ctx, o)
		if err != nil {
			return res, fmt.Errorf("lab: %w", err)
		}
		emit(fig)
	}
	return res, nil
}

// startManager runs `swarm manage` on a free port with a pprof listener.
func startManager(o options, discovery string) (p *proc.Process, base, pprofAddr string, err error) {
	port, err := freePort()
	if err != nil {
		return nil, "", "", err
	}
	pport, err := freePort()
	if err != nil {
		return nil, "", "", err
	}
	base = fmt.Sprintf("http://127.0.0.1:%d", port)
	pprofAddr = fmt.Sprintf("127.0.0.1:%d", pport)
	p, err = startProc("swarm manage", o.SwarmBin, []string{
		"manage", "-H", fmt.Sprintf("tcp://127.0.0.1:%d", port), "-l", "warn", "--pprof", pprofAddr, discovery,
	}, io.Discard, o.Log)
	return p, base, pprofAddr, err
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// memoryFigure is the manager's RSS after a forced GC, with what its
// runtime says the memory is.
type memFigure struct {
	memStats
	RSS int64
}

func (m memFigure) String() string {
	return fmt.Sprintf("runtime: heap in use %.1f MiB, idle not yet released %.1f MiB, goroutine stacks %.1f MiB (%d goroutines)",
		mib(m.HeapInuse), mib(m.HeapIdle-m.HeapReleased), mib(m.StackInuse), m.Goroutines)
}

func memoryFigure(ctx context.Context, c *http.Client, pid int, pprofAddr string) (memFigure, error) {
	var m memFigure
	var err error
	if m.memStats, err = readMemStats(ctx, c, pprofAddr); err != nil { // forces a GC
		return m, err
	}
	m.RSS, err = rssBytes(pid)
	return m, err
}

// rssWindow is the manager's RSS sampled once a second over a window.
type rssWindow struct {
	n                int
	median, min, max int64
}

func (w rssWindow) String() string {
	return fmt.Sprintf("median of %d samples, one a second (min %.1f, max %.1f MiB)", w.n, mib(w.min), mib(w.max))
}

// sampleRSS samples pid's RSS once a second from from to end.
func sampleRSS(ctx context.Context, pid int, from, end time.Time) (rssWindow, error) {
	var samples []int64
	for time.Now().Before(end) {
		if !sleepCtx(ctx, time.Second) {
			return rssWindow{}, ctx.Err()
		}
		if time.Now().Before(from) {
			continue
		}
		if r, err := rssBytes(pid); err == nil {
			samples = append(samples, r)
		}
	}
	if len(samples) == 0 {
		return rssWindow{}, nil
	}
	slices.Sort(samples)
	return rssWindow{n: len(samples), median: samples[len(samples)/2], min: samples[0], max: samples[len(samples)-1]}, nil
}

// sleepCtx waits d or until ctx ends; false when ctx ended.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
