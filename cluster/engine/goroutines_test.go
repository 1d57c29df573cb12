package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/cluster"
	"github.com/swarmlab/swarm/cluster/engine"
	"github.com/swarmlab/swarm/filters"
	"github.com/swarmlab/swarm/scheduler"
	"github.com/swarmlab/swarm/test/fakeengine"
)

// perEngineGoroutines is the budget of a tracked engine at rest: the
// goroutine reading its event stream (its events are applied on a
// goroutine that lives only while there is work, and its heartbeats run
// from the cluster's one schedule, in a goroutine only while the engine
// is asked). Issue 7 measured 8 before the stream had a connection of its
// own, 3 before the heartbeats were scheduled and 2 before the applier
// ran on demand; at 1,000 engines each one is about 4-8 KiB of stack.
const perEngineGoroutines = 1

// clusterGoroutines is slack for the cluster's own goroutines (hub,
// membership), independent of the number of engines.
const clusterGoroutines = 10

// notManager marks goroutines that are not the manager's cost: the fake
// engines' side of each connection, which lives in this process too, and
// the test goroutine while assert.Eventually runs the count on another.
var notManager = []string{"net/http.(*conn).", "net/http.(*connReader).", "net/http.(*Server).", "test/fakeengine.", "testify/assert.Eventually("}

// managerGoroutines counts the goroutines not serving the fake engines,
// and summarises them by what started them, for failure messages.
func managerGoroutines() (int, string) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	byTop := map[string]int{}
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		s := string(g)
		if s == "" || containsAny(s, notManager) {
			continue
		}
		count++
		byTop[creator(s)]++
	}
	var tops []string
	for f, k := range byTop {
		tops = append(tops, fmt.Sprintf("%4d %s", k, f))
	}
	sort.Strings(tops)
	return count, strings.Join(tops, "\n")
}

// creator is the function that started the goroutine of stack trace g.
func creator(g string) string {
	_, after, ok := strings.Cut(g, "\ncreated by ")
	if !ok {
		return "(main)"
	}
	line, _, _ := strings.Cut(after, "\n")
	line, _, _ = strings.Cut(line, " in goroutine")
	return line
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestGoroutinesPerEngine(t *testing.T) {
	const engines = 30
	var addrs []string
	for i := range engines {
		fe := fakeengine.New(fakeengine.Options{Name: fmt.Sprintf("g%d", i), Images: []string{"busybox"}})
		require.NoError(t, fe.Start())
		t.Cleanup(fe.Close)
		addrs = append(addrs, fe.Addr())
	}
	before, _ := managerGoroutines()

	c, err := cluster.New(cluster.Config{
		Scheduler: scheduler.New(scheduler.Config{Filters: filters.Default()}),
		Dial: func(addr string) (cluster.Engine, error) {
			// Idle call connections close quickly so that the test sees
			// the steady state of a real manager between heartbeats.
			return engine.Dial(addr, engine.Options{Timeout: 3 * time.Second, IdleTimeout: 20 * time.Millisecond})
		},
		RefreshMinInterval: time.Minute, // no heartbeat during the test after the first
		RefreshMaxInterval: time.Minute,
		Rand:               rand.New(rand.NewSource(1)),
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	stopped := false
	defer func() {
		if !stopped {
			c.Stop()
		}
	}()
	c.SetMembers(addrs)
	require.Eventually(t, func() bool {
		healthy := 0
		for _, n := range c.Nodes() {
			if n.State == scheduler.NodeHealthy {
				healthy++
			}
		}
		return healthy == engines
	}, hangGuard, 5*time.Millisecond)

	budget := before + perEngineGoroutines*engines + clusterGoroutines
	var now int
	var tops string
	ok := assert.Eventually(t, func() bool {
		now, tops = managerGoroutines()
		return now <= budget
	}, hangGuard, 10*time.Millisecond)
	if !ok || testing.Verbose() {
		t.Logf("%d goroutines for %d engines (%.1f each), budget %d; by creator:\n%s",
			now-before, engines, float64(now-before)/engines, budget-before, tops)
	}

	c.Stop()
	stopped = true
	assert.Eventually(t, func() bool {
		now, tops = managerGoroutines()
		return now <= before
	}, hangGuard, 10*time.Millisecond, "goroutines left after Stop")
	if now > before {
		t.Logf("left after Stop:\n%s", tops)
	}
}

// After a heartbeat the engine's call connection would idle until its
// timeout; CloseIdle drops it, with its transport's two goroutines.
func TestCloseIdleDropsTheCallConnection(t *testing.T) {
	_, e := dialFake(t, fakeengine.Options{Name: "idle"})
	loops := func() int {
		_, tops := managerGoroutines()
		return strings.Count(tops, "net/http.(*Transport).dialConn")
	}
	before := loops()
	_, err := e.Info(context.Background())
	require.NoError(t, err)
	require.Greater(t, loops(), before, "the call left an idle connection with its read and write loops")
	e.CloseIdle()
	assert.Eventually(t, func() bool { return loops() == before }, hangGuard, 5*time.Millisecond, "closed")
}
