package token

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/swarmlab/swarm/discovery"
	"github.com/swarmlab/swarm/test/logsink"
)

// fast keeps tests quick while leaving room for -race on 2 cores: a probe
// missed by scheduling delay must not be mistaken for a dead member.
var fast = Timing{Heartbeat: 200 * time.Millisecond, TTL: time.Second}

// slack covers gossip propagation and scheduling on a loaded test machine;
// it bounds every Eventually so failure detection is checked as a
// behaviour with a bound, not benchmarked.
const slack = 2 * time.Second

// watcher keeps the latest update of a Discovery.
type watcher struct {
	done chan struct{}
	mu   sync.Mutex
	last []string
	down []string
	// everDown is every address ever reported in Update.Down.
	everDown map[string]bool
	n        int
}

func watch(t *testing.T, d discovery.Discovery) *watcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{done: make(chan struct{}), everDown: map[string]bool{}}
	ch := d.Watch(ctx)
	go func() {
		defer close(w.done)
		for u := range ch {
			w.mu.Lock()
			w.last, w.down, w.n = u.Addrs, u.Down, w.n+1
			for _, a := range u.Down {
				w.everDown[a] = true
			}
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-w.done
	})
	return w
}

func (w *watcher) addrs() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// is waits until the membership equals want, within bound.
func (w *watcher) is(t *testing.T, bound time.Duration, want ...string) {
	t.Helper()
	assert.Eventually(t, func() bool { return slices.Equal(w.addrs(), discovery.Normalize(want)) },
		bound, 10*time.Millisecond, "want %v, have %v", want, w.addrs())
}

// cluster is a token and a manager listening on loopback.
type cluster struct {
	token string // carries the manager's gossip address
	mgr   *Manager
	w     *watcher
}

func newCluster(t *testing.T, timing Timing) *cluster {
	t.Helper()
	return newClusterWith(t, ManagerConfig{Timing: timing})
}

// newClusterWith is newCluster with more manager settings; Bind and Logger
// are set here.
func newClusterWith(t *testing.T, cfg ManagerConfig) *cluster {
	t.Helper()
	bare, err := Create(nil)
	require.NoError(t, err)
	cfg.Bind, cfg.Logger = "127.0.0.1:0", testLogger(t)
	mgr, err := NewManager(bare, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = mgr.Close() })
	// The key depends on the cluster ID and secret only, so adding the
	// manager's now known address yields a token for the same cluster.
	tok, err := Parse(bare)
	require.NoError(t, err)
	tok.Managers = []string{mgr.GossipAddr()}
	c := &cluster{token: tok.String(), mgr: mgr, w: watch(t, mgr)}
	c.w.is(t, slack) // first update: empty
	return c
}

// agent starts an agent for engine and returns it with a stop function that
// waits for Run to return.
func startAgent(t *testing.T, tok, engine string, mod ...func(*JoinConfig)) (*Agent, func()) {
	t.Helper()
	cfg := JoinConfig{Token: tok, Advertise: engine, Timing: fast, Bind: "127.0.0.1:0",
		GossipAdvertise: "127.0.0.1:0", Logger: testLogger(t)}
	for _, m := range mod {
		m(&cfg)
	}
	a, err := NewAgent(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stop := func() {
		cancel()
		assert.NoError(t, <-done)
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(stop) })
	return a, func() { once.Do(stop) }
}

func TestAgentsJoinAndLeave(t *testing.T) {
	c := newCluster(t, fast)
	_, stop1 := startAgent(t, c.token, "10.0.0.1:2375")
	startAgent(t, c.token, "10.0.0.2:2375")
	startAgent(t, c.token, "node3:2376")
	c.w.is(t, slack, "10.0.0.1:2375", "10.0.0.2:2375", "node3:2376")

	// A stopped agent leaves gracefully: removed without waiting for the TTL.
	stop1()
	c.w.is(t, slack, "10.0.0.2:2375", "node3:2376")
}

func TestMetadataUpdatePropagates(t *testing.T) {
	c := newCluster(t, fast)
	a, _ := startAgent(t, c.token, "10.0.0.1:2375")
	c.w.is(t, slack, "10.0.0.1:2375")

	require.NoError(t, a.SetAdvertise("10.0.0.9:2376"))
	c.w.is(t, slack, "10.0.0.9:2376")

	err := a.SetAdvertise("10.0.0.9")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not host:port")
}

func TestKilledAgentDetectedWithinTTL(t *testing.T) {
	for name, timing := range map[string]Timing{"fast": fast, "default": DefaultTiming()} {
		t.Run(name, func(t *testing.T) {
			c := newCluster(t, timing)
			killed, _ := startAgent(t, c.token, "10.0.0.1:2375", func(cfg *JoinConfig) { cfg.Timing = timing })
			startAgent(t, c.token, "10.0.0.2:2375", func(cfg *JoinConfig) { cfg.Timing = timing })
			c.w.is(t, slack, "10.0.0.1:2375", "10.0.0.2:2375")

			start := time.Now()
			killed.kill() // no leave message: only failure detection can notice
			c.w.is(t, timing.TTL+slack, "10.0.0.2:2375")
			t.Logf("killed agent removed after %s (ttl %s)", time.Since(start).Round(time.Millisecond), timing.TTL)
		})
	}
}

func TestListReturnsEngines(t *testing.T) {
	c := newCluster(t, fast)
	startAgent(t, c.token, "10.0.0.2:2375")
	startAgent(t, c.token, "10.0.0.1:2375")
	c.w.is(t, slack, "10.0.0.1:2375", "10.0.0.2:2375")

	got, err := List(context.Background(), c.token, ListConfig{Bind: "127.0.0.1:0"})
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.1:2375", "10.0.0.2:2375"}, got)
	// The lister is not an engine and its departure changes nothing.
	c.w.is(t, slack, "10.0.0.1:2375", "10.0.0.2:2375")
}

func TestWrongTokenCannotJoinNorRead(t *testing.T) {
	c := newCluster(t, fast)
	startAgent(t, c.token, "10.0.0.1:2375")
	c.w.is(t, slack, "10.0.0.1:2375")

	other, err := Create([]string{c.mgr.GossipAddr()}) // right address, wrong secret
	require.NoError(t, err)

	_, err = List(context.Background(), other, ListConfig{Bind: "127.0.0.1:0"})
	require.Error(t, err, "a process without the token must not read members")
	assert.Contains(t, err.Error(), "no manager reachable")

	logs := &logsink.Buffer{}
	intruder, _ := startAgent(t, other, "10.6.6.6:2375", func(cfg *JoinConfig) {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	assert.Eventually(t, func() bool { return strings.Contains(logs.String(), "no manager reachable; retrying") },
		slack, 10*time.Millisecond, "the intruder must be told why it cannot join")
	assert.Equal(t, 1, intruder.ml.NumMembers(), "the intruder sees nobody but itself")
	assert.Equal(t, []string{"10.0.0.1:2375"}, c.w.addrs())
	assert.Equal(t, 2, c.mgr.ml.NumMembers(), "manager and the legitimate agent only")
}

func TestTwoClustersNeverMix(t *testing.T) {
	a, b := newCluster(t, fast), newCluster(t, fast)
	// Misconfigured agents also point at the other cluster's manager.
	startAgent(t, a.token, "10.0.1.1:2375", func(cfg *JoinConfig) { cfg.Seeds = []string{b.mgr.GossipAddr()} })
	startAgent(t, b.token, "10.0.2.1:2375", func(cfg *JoinConfig) { cfg.Seeds = []string{a.mgr.GossipAddr()} })
	a.w.is(t, slack, "10.0.1.1:2375")
	b.w.is(t, slack, "10.0.2.1:2375")
	for _, c := range []*cluster{a, b} {
		for _, m := range c.mgr.ml.Members() {
			assert.NotContains(t, m.Name, map[*cluster]string{a: "10.0.2.1", b: "10.0.1.1"}[c])
		}
	}
	got, err := List(context.Background(), a.token, ListConfig{Bind: "127.0.0.1:0"})
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.1.1:2375"}, got)
}

func TestAgentRetriesUntilManagerUp(t *testing.T) {
	bare, err := Create(nil)
	require.NoError(t, err)
	// Reserve an address by starting and closing a manager on a free port.
	probe, err := NewManager(bare, ManagerConfig{Bind: "127.0.0.1:0", Timing: fast})
	require.NoError(t, err)
	addr := probe.GossipAddr()
	require.NoError(t, probe.Close())

	tok, err := Parse(bare)
	require.NoError(t, err)
	tok.Managers = []string{addr}
	logs := &logsink.Buffer{}
	startAgent(t, tok.String(), "10.0.0.1:2375", func(cfg *JoinConfig) {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
		cfg.RetryMax = 400 * time.Millisecond
	})
	assert.Eventually(t, func() bool { return strings.Contains(logs.String(), "no manager reachable; retrying") },
		slack, 10*time.Millisecond)

	mgr, err := NewManager(tok.String(), ManagerConfig{Bind: addr, Timing: fast})
	require.NoError(t, err)
	t.Cleanup(func() { _ = mgr.Close() })
	watch(t, mgr).is(t, fast.TTL+slack, "10.0.0.1:2375")
}

func TestManagerRestartAgentsRejoin(t *testing.T) {
	c := newCluster(t, fast)
	startAgent(t, c.token, "10.0.0.1:2375", func(cfg *JoinConfig) { cfg.RetryMax = 400 * time.Millisecond })
	c.w.is(t, slack, "10.0.0.1:2375")

	addr := c.mgr.GossipAddr()
	require.NoError(t, c.mgr.Close())
	restarted, err := NewManager(c.token, ManagerConfig{Bind: addr, Timing: fast, Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = restarted.Close() })
	// The new manager knows nobody: the agent must notice its manager is
	// gone (ttl) and rejoin (next retry).
	watch(t, restarted).is(t, fast.TTL+400*time.Millisecond+slack, "10.0.0.1:2375")
}

func TestSeveralManagersFindEachOtherThroughAgents(t *testing.T) {
	bare, err := Create(nil)
	require.NoError(t, err)
	tok, err := Parse(bare)
	require.NoError(t, err)
	var addrs []string
	for range 2 { // reserve two free gossip addresses
		probe, err := NewManager(bare, ManagerConfig{Bind: "127.0.0.1:0", Timing: fast})
		require.NoError(t, err)
		addrs = append(addrs, probe.GossipAddr())
		require.NoError(t, probe.Close())
	}
	tok.Managers = discovery.Normalize(addrs)
	var ws []*watcher
	var mgrs []*Manager
	for _, a := range addrs {
		m, err := NewManager(tok.String(), ManagerConfig{Bind: a, Advertise: a, Timing: fast, Logger: testLogger(t)})
		require.NoError(t, err)
		t.Cleanup(func() { _ = m.Close() })
		mgrs = append(mgrs, m)
		ws = append(ws, watch(t, m))
	}
	startAgent(t, tok.String(), "10.0.0.1:2375")
	startAgent(t, tok.String(), "10.0.0.2:2375")
	for _, w := range ws {
		w.is(t, slack, "10.0.0.1:2375", "10.0.0.2:2375")
	}
	assert.Eventually(t, func() bool { return mgrs[1].ml.NumMembers() == 4 }, slack, 10*time.Millisecond,
		"managers and agents form one cluster")

	// Losing one manager does not lose the engines on the other.
	require.NoError(t, mgrs[0].Close())
	startAgent(t, tok.String(), "10.0.0.3:2375")
	ws[1].is(t, slack, "10.0.0.1:2375", "10.0.0.2:2375", "10.0.0.3:2375")
}

func TestJoinConfigRejects(t *testing.T) {
	good, err := Create([]string{"127.0.0.1:7946"})
	require.NoError(t, err)
	bare, err := Create(nil)
	require.NoError(t, err)
	tests := []struct {
		name    string
		cfg     JoinConfig
		wantErr string
	}{
		{name: "no advertise", cfg: JoinConfig{Token: good}, wantErr: "--advertise is required"},
		{name: "bad advertise", cfg: JoinConfig{Token: good, Advertise: "10.0.0.1"}, wantErr: "--advertise: bad discovery entry"},
		{name: "advertise port", cfg: JoinConfig{Token: good, Advertise: "10.0.0.1:0"}, wantErr: "1-65535"},
		{name: "bad token", cfg: JoinConfig{Token: "abc", Advertise: "10.0.0.1:2375"}, wantErr: "bad discovery token"},
		{name: "ttl", cfg: JoinConfig{Token: good, Advertise: "10.0.0.1:2375",
			Timing: Timing{Heartbeat: time.Second, TTL: time.Second}}, wantErr: "--ttl 1s must exceed --heartbeat 1s"},
		{name: "delay", cfg: JoinConfig{Token: good, Advertise: "10.0.0.1:2375", Delay: -time.Second}, wantErr: "--delay"},
		{name: "no manager", cfg: JoinConfig{Token: bare, Advertise: "10.0.0.1:2375"}, wantErr: "no --join was given"},
		{name: "bad join", cfg: JoinConfig{Token: bare, Advertise: "10.0.0.1:2375", Seeds: []string{"m"}}, wantErr: "--join:"},
		{name: "bad bind", cfg: JoinConfig{Token: good, Advertise: "10.0.0.1:2375", Bind: "x"}, wantErr: "gossip bind address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewAgent(tt.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestFactoryWiresIntoDiscovery(t *testing.T) {
	bare, err := Create(nil)
	require.NoError(t, err)
	d, err := discovery.New("token://"+bare, discovery.Options{Token: Factory(ManagerConfig{Bind: "127.0.0.1:0", Timing: fast})})
	require.NoError(t, err)
	w := watch(t, d)
	w.is(t, slack)

	_, err = discovery.New("token://nope", discovery.Options{Token: Factory(ManagerConfig{})})
	assert.ErrorIs(t, err, ErrBadToken)
}

// testLogger sends gossip logs to the test output, visible with -v or on
// failure. memberlist goroutines may still log after the test's end, when
// t.Log would panic, so writes stop at cleanup.
func testLogger(t *testing.T) *slog.Logger {
	w := &tWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

func (w *tWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}
