package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/system"

	"github.com/swarmlab/swarm/test/proc"
)

// apiPrefix is what the docker CLI puts before every path.
const apiPrefix = "/v1.41"

// startProc starts bin with args, its stdout to stdout and its stderr to log. The caller
// stops it by its PID with Stop.
func startProc(name, bin string, args []string, stdout, log io.Writer) (*proc.Process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stdout = stdout
	cmd.Stderr = log
	return proc.Start(name, cmd)
}

// buildBinaries compiles the manager and the simulator from the module
// at root into dir, so what is measured is the real binary.
func buildBinaries(ctx context.Context, root, dir string) (swarm, sim string, err error) {
	swarm, sim = filepath.Join(dir, "swarm"), filepath.Join(dir, "enginesim")
	for _, b := range [][2]string{{swarm, "./cmd/swarm"}, {sim, "./cmd/enginesim"}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b[0], b[1])
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("go build %s: %w\n%s", b[1], err, out)
		}
	}
	return swarm, sim, nil
}

// moduleRoot walks up from the working directory to go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run from inside the swarm module")
		}
		dir = parent
	}
}

// waitReady reads a child's stdout (the simulator's, the null proxy's)
// until its "ready" line.
func waitReady(ctx context.Context, sim *proc.Process, stdout io.Reader) error {
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready") {
				line <- sc.Text()
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case <-line:
		return nil
	case <-sim.Done():
		return sim.ExitErr()
	case <-ctx.Done():
		return fmt.Errorf("%s not ready: %w", sim.Name(), ctx.Err())
	}
}

// freePort asks the kernel for a loopback port nobody uses right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// clusterState is what the manager's /info says about its engines.
type clusterState struct {
	Nodes, Healthy, Containers int
}

func readState(ctx context.Context, c *http.Client, base string) (clusterState, error) {
	var info system.Info
	if err := getJSON(ctx, c, base+apiPrefix+"/info", &info); err != nil {
		return clusterState{}, err
	}
	st := clusterState{Containers: info.Containers}
	for _, kv := range info.SystemStatus {
		switch {
		case kv[0] == "Nodes":
			st.Nodes, _ = strconv.Atoi(kv[1])
		case strings.HasSuffix(kv[0], "Status") && kv[1] == "Healthy":
			st.Healthy++
		}
	}
	return st, nil
}

// waitHealthy polls /info until nodes engines are healthy and, when
// containers >= 0, that many containers are tracked.
func waitHealthy(ctx context.Context, c *http.Client, base string, mgr *proc.Process, nodes, containers int) (clusterState, error) {
	var last clusterState
	var lastErr error
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := mgr.ExitErr(); err != nil {
			return last, err
		}
		last, lastErr = readState(ctx, c, base)
		if lastErr == nil && last.Healthy == nodes && (containers < 0 || last.Containers == containers) {
			return last, nil
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("manager at %s not ready: %d/%d engines healthy, %d containers (want %d), last error %v: %w",
				base, last.Healthy, nodes, last.Containers, containers, lastErr, ctx.Err())
		case <-tick.C:
		}
	}
}

func getJSON(ctx context.Context, c *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// rssBytes reads a process's resident set size from /proc.
func rssBytes(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// memStats is what the manager's runtime says about its memory.
type memStats struct {
	HeapInuse, StackInuse, HeapIdle, HeapReleased int64
	Goroutines                                    int64
}

// readMemStats asks the manager's pprof listener for its memory after a
// GC (the "# Name = N" runtime.MemStats lines of the debug=1 heap
// profile) and its goroutine count.
func readMemStats(ctx context.Context, c *http.Client, pprofAddr string) (memStats, error) {
	var m memStats
	fields := map[string]*int64{
		"HeapInuse": &m.HeapInuse, "Stack": &m.StackInuse, // "# Stack = inuse / sys"
		"HeapIdle": &m.HeapIdle, "HeapReleased": &m.HeapReleased,
	}
	body, err := fetch(ctx, c, "http://"+pprofAddr+"/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return m, fmt.Errorf("heap profile: %w", err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		name, val, ok := strings.Cut(strings.TrimPrefix(line, "# "), " = ")
		if dst := fields[name]; ok && dst != nil {
			val, _, _ = strings.Cut(val, " /")
			*dst, _ = strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		}
	}
	if m.HeapInuse == 0 {
		return m, fmt.Errorf("heap profile from %s has no HeapInuse line", pprofAddr)
	}
	body, err = fetch(ctx, c, "http://"+pprofAddr+"/debug/pprof/goroutine?debug=1")
	if err != nil {
		return m, fmt.Errorf("goroutine profile: %w", err)
	}
	first, _, _ := strings.Cut(string(body), "\n")
	_, total, _ := strings.Cut(first, "total ")
	m.Goroutines, _ = strconv.ParseInt(strings.TrimSpace(total), 10, 64)
	return m, nil
}

func fetch(ctx context.Context, c *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// raiseFileLimit lifts the soft open-file limit to the hard one: the
// benchmark's clients, and the children that inherit it, hold thousands
// of connections.
func raiseFileLimit() error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("read open-file limit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return fmt.Errorf("raise open-file limit to %d: %w", lim.Max, err)
		}
	}
	return nil
}

// profiler collects CPU profiles of one process (the manager, or the
// simulator with prefix "sim-") in the background.
type profiler struct {
	dir, addr string
	seconds   int
	log       io.Writer
	prefix    string // of the profile file names
}

// profilers profiles several processes over the same interval.
type profilers []profiler

// start begins the profile named name in every process; the returned
// channel closes when all are written.
func (ps profilers) start(name string) <-chan struct{} {
	done := make(chan struct{})
	var each []<-chan struct{}
	for _, p := range ps {
		each = append(each, p.start(name))
	}
	go func() {
		defer close(done)
		for _, c := range each {
			<-c
		}
	}()
	return done
}

// start begins a CPU profile named name (a name starting "heap": a heap profile); wait for the returned channel to
// close before the next one (the runtime allows one CPU profile at a
// time). With no directory it does nothing.
func (p profiler) start(name string) <-chan struct{} {
	done := make(chan struct{})
	if p.dir == "" || p.addr == "" {
		close(done)
		return done
	}
	get := func(url, file string) {
		resp, err := http.Get(url)
		if err != nil {
			fmt.Fprintf(p.log, "bench: profile %s: %v\n", file, err)
			return
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err == nil {
			err = os.WriteFile(filepath.Join(p.dir, file+".pprof"), data, 0o644)
		}
		if err != nil {
			fmt.Fprintf(p.log, "bench: profile %s: %v\n", file, err)
		}
	}
	if strings.HasPrefix(name, "heap") {
		go func() {
			defer close(done)
			get(fmt.Sprintf("http://%s/debug/pprof/heap?gc=1", p.addr), p.prefix+name)
		}()
		return done
	}
	// The CPU profile, and over the same interval the contention on
	// mutexes (a delta profile; the manager samples them, see --pprof)
	// and the allocations (what the GC has to clean up).
	var both sync.WaitGroup
	both.Add(3)
	go func() {
		defer both.Done()
		get(fmt.Sprintf("http://%s/debug/pprof/allocs?seconds=%d", p.addr, p.seconds), p.prefix+name+"-allocs")
	}()
	go func() {
		defer both.Done()
		get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.addr, p.seconds), p.prefix+name)
	}()
	go func() {
		defer both.Done()
		get(fmt.Sprintf("http://%s/debug/pprof/mutex?seconds=%d", p.addr, p.seconds), p.prefix+name+"-mutex")
	}()
	go func() {
		both.Wait()
		close(done)
	}()
	return done
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat times;
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuTime is the user plus system CPU time process pid has used so far.
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields count from the
	// closing parenthesis: utime and stime are fields 14 and 15.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the name, want at least 13", pid, len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// cpuMeter measures the CPU the manager, the simulator and this process
// (the clients) use over one figure, and the machine's time over it.
type cpuMeter struct {
	pids  [3]int
	start [3]time.Duration
	// machine is /proc/stat's busy, idle and steal ticks at start.
	machine [3]int64
}

// machineTicks is the busy (user, nice, system, irq, softirq), idle
// (idle, iowait) and steal (taken by the hypervisor for other guests)
// ticks of all CPUs since boot.
func machineTicks() ([3]int64, error) {
	var out [3]int64
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return out, err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return out, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var v [8]int64
	for i := range v {
		if v[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
			return out, fmt.Errorf("/proc/stat: %w", err)
		}
	}
	out[0] = v[0] + v[1] + v[2] + v[5] + v[6]
	out[1] = v[3] + v[4]
	out[2] = v[7]
	return out, nil
}

// machineShares is the busy and stolen share of the machine's CPU time
// since the meter started.
func (m *cpuMeter) machineShares() (busy, steal float64, err error) {
	now, err := machineTicks()
	if err != nil {
		return 0, 0, err
	}
	var d [3]int64
	total := int64(0)
	for i := range d {
		d[i] = now[i] - m.machine[i]
		total += d[i]
	}
	if total <= 0 {
		return 0, 0, nil
	}
	return float64(d[0]) / float64(total), float64(d[2]) / float64(total), nil
}

func startCPUMeter(manager, sim int) (*cpuMeter, error) {
	m := &cpuMeter{pids: [3]int{manager, sim, os.Getpid()}}
	var err error
	if m.machine, err = machineTicks(); err != nil {
		return nil, err
	}
	for i, pid := range m.pids {
		t, err := cpuTime(pid)
		if err != nil {
			return nil, err
		}
		m.start[i] = t
	}
	return m, nil
}

// perItem is the CPU each process used since start, divided by n.
func (m *cpuMeter) perItem(n int) ([3]time.Duration, error) {
	var out [3]time.Duration
	for i, pid := range m.pids {
		t, err := cpuTime(pid)
		if err != nil {
			return out, err
		}
		out[i] = (t - m.start[i]) / time.Duration(n)
	}
	return out, nil
}
