package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMain lets this test binary serve as the null proxy floorFigure
// starts (it runs its own executable), as the benchmark's binary does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == nullProxyArg {
		if err := serveNullProxy(os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", nullProxyArg, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// smallOptions are the smoke runs' size (20 engines, 600 containers, 100
// creates from 8 clients), with the output and the children's log kept.
func smallOptions() (o options, out, log *strings.Builder) {
	o = defaultOptions()
	o.Engines, o.PerEngine = 20, 30
	o.Clients, o.Creates = 8, 100
	out, log = new(strings.Builder), new(strings.Builder)
	o.Log = log
	return o, out, log
}

// TestSmoke runs the whole benchmark small (20 engines, 600 containers)
// with the real binaries, so the tools keep working as the code changes.
// It checks what the run did, never how fast.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the manager and the simulator; skipped in -short mode")
	}
	o, out, log := smallOptions()
	o.ListSamples, o.InfoSamples = 3, 5
	o.Settle = 100 * time.Millisecond // the at-rest figure's path, not its wait
	o.ListRest = 2 * time.Second      // likewise for the rest after the listings
	// Enough prefill to overflow the non-reader whatever the kernel's
	// socket buffer limits are, so it must be dropped.
	o.Listeners, o.Events, o.EventInterval, o.Prefill = 5, 300, time.Millisecond, -1
	o.Listers = 1 // a docker-gen listing back to back while figure 1 creates
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	res, err := run(ctx, o, out)
	require.NoError(t, err, "output:\n%s\nchildren:\n%s", out.String(), log.String())

	assert.Equal(t, 20, res.Healthy, "engines healthy")
	assert.Equal(t, 600, res.Tracked, "containers tracked")
	assert.Equal(t, 600, res.Listed, "containers listed")
	assert.Equal(t, 100, res.Created, "creates that succeeded")
	assert.Equal(t, o.Events, res.Fanout.MinReceived, "every reading listener got every event")
	assert.True(t, res.Fanout.NonReaderDropped, "the listener that never reads is dropped")
	assert.Less(t, res.Fanout.NonReaderGot, overflowBound(), "a dropped listener misses events")
	assert.Positive(t, res.RSS)
	assert.Positive(t, res.ListedRSS)
	assert.Positive(t, res.RelistedRSS)
	assert.Positive(t, res.ListenersRSS)
	assert.Positive(t, res.HeapUsed)
	assert.Regexp(t, `1\. create\+start throughput .* 1 listers alongside, [1-9][0-9]* listings`, out.String(), "listings finished during figure 1")
	for _, n := range []string{"1.", "1. create+start latency p99", "2.", "2. first GET", "3.", "4.", "5. manager RSS right after sync", "5. manager RSS at rest", "5. manager heap", "5. manager RSS after the listings", "5. manager RSS at rest after the listings", "5. manager RSS with 5 listeners"} {
		assert.Contains(t, out.String(), n, "figure %q printed", n)
	}
}

// TestFloorSmoke runs figure 1's load through the null proxy, small: every
// create and start must succeed through it, so the floor it measures is
// that of the same work the manager does.
func TestFloorSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the simulator; skipped in -short mode")
	}
	o, out, log := smallOptions()
	o.Floor = true
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	res, err := run(ctx, o, out)
	require.NoError(t, err, "output:\n%s\nchildren:\n%s", out.String(), log.String())
	assert.Equal(t, 100, res.Created, "creates that succeeded")
	require.Len(t, res.Figures, 1, "the floor alone is measured")
	assert.Equal(t, "1f. create+start, null proxy", res.Figures[0].Name)
	assert.Positive(t, res.Figures[0].Value)
	assert.Contains(t, out.String(), "CPU per container: null proxy")
}

func TestAppendDocsKeepsOtherSections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	require.NoError(t, os.WriteFile(path, []byte("# Benchmarks\n\n## Scheduler\n\nkeep me\n"), 0o644))
	figs := []figure{{Name: "3. GET /info p50", Value: 1.5, Unit: "ms", Target: "≤ 30", Met: true, Conditions: "c"}}
	require.NoError(t, appendDocs(path, "go run ./test/bench", figs))
	require.NoError(t, appendDocs(path, "go run ./test/bench --engines 2", figs))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	s := string(data)
	assert.True(t, strings.HasPrefix(s, "# Benchmarks\n\n## Scheduler\n\nkeep me\n"))
	assert.Equal(t, 1, strings.Count(s, "## Manager at scale"), "heading written once")
	assert.Equal(t, 2, strings.Count(s, "| 3. GET /info p50 | 1.50 | ms | ≤ 30 | yes | c |"))
	assert.Contains(t, s, "`go run ./test/bench --engines 2`")
}

func TestParseFlagsRejects(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"one container per engine", []string{"--containers", "1"}, "--containers 1: must be between 2"},
		{"no clients", []string{"--clients", "0"}, "--clients 0"},
		{"zero interval", []string{"--event-interval", "0s"}, "--event-interval must be positive"},
		{"stray argument", []string{"now"}, `unexpected argument "now"`},
		{"floor and lab", []string{"--floor", "--lab-only"}, "--floor and --lab-only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFlags(tt.args)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestPercentile(t *testing.T) {
	d := []time.Duration{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	assert.Equal(t, time.Duration(5), percentile(d, 50))
	assert.Equal(t, time.Duration(10), percentile(d, 99))
	assert.Equal(t, time.Duration(1), percentile(d, 0))
	assert.Equal(t, time.Duration(0), percentile(nil, 50))
}

func TestTimeNano(t *testing.T) {
	tests := []struct {
		line string
		want int64
		ok   bool
	}{
		{`{"Action":"pause","time":1,"timeNano":1700000000123456789}`, 1700000000123456789, true},
		{`{"Action":"pause","timeNano":42,"node":{}}`, 42, true},
		{`{"Action":"pause"}`, 0, false},
		{`{"timeNano":}`, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, ok := timeNano([]byte(tt.line))
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func FuzzTimeNano(f *testing.F) {
	f.Add([]byte(`{"timeNano":123}`))
	f.Add([]byte(`"timeNano":99999999999999999999`))
	f.Fuzz(func(t *testing.T, line []byte) {
		if n, ok := timeNano(line); ok {
			require.GreaterOrEqual(t, n, int64(0))
		}
	})
}

func TestLabEngines(t *testing.T) {
	env := []byte("LAB_STATE=/var/lib/swarmlab\nexport LAB_ENGINES=10.77.0.11:2375,10.77.0.12:2375\n")
	assert.Equal(t, []string{"10.77.0.11:2375", "10.77.0.12:2375"}, labEngines(env))
	assert.Nil(t, labEngines([]byte("nothing\n")))
}

// TestCreateBodyIsTheCLIs holds figure 1's create body to the one docker
// 28.2.2's CLI sent for `docker run -d --name bench1 -l bench=1
// busybox:latest sh` (captured by a recording server), so that the
// manager and the simulator decode what a user's CLI makes them decode.
func TestCreateBodyIsTheCLIs(t *testing.T) {
	captured, err := os.ReadFile("testdata/docker-28.2.2-run-d.json")
	require.NoError(t, err)
	require.JSONEq(t, string(captured), string(createBody("busybox:latest", []string{"sh"})))
}
