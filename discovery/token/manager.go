package token

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/swarmlab/swarm/discovery"
)

// ManagerConfig configures the manager's gossip member. The zero value is
// usable: it binds 0.0.0.0:7946 and, when one of the token's manager
// addresses is an address of this host, advertises that one.
type ManagerConfig struct {
	// Bind is the gossip listen address (default 0.0.0.0:7946, or the port of
	// the token's manager address that is local to this host).
	Bind string
	// Advertise is the gossip address agents reach this manager at (default:
	// the token's manager address local to this host, else memberlist's
	// choice of a private IP).
	Advertise string
	// Timing is the failure-detection budget; unset fields are filled by
	// Timing.WithDefaults.
	Timing Timing
	// Retention is how long an engine whose agent left or was declared dead
	// stays in Update.Down (shown as down) before it is dropped; 0 means
	// DefaultRetention, negative drops it at once.
	Retention time.Duration
	// Logger receives membership changes and gossip problems.
	Logger *slog.Logger
}

// DefaultRetention is how long a lost engine is reported down before it is
// dropped: long enough to ride out a reboot or a network cut, short enough
// that a decommissioned node does not linger for a day.
const DefaultRetention = 10 * time.Minute

// Manager is the manager side of token://: a gossip member that turns the
// agents' advertised engine addresses into discovery updates. An agent that
// leaves or stays unreachable past Timing.TTL moves its engine from
// Update.Addrs to Update.Down for the retention period, then it is dropped.
type Manager struct {
	ml        *memberlist.Memberlist
	seeds     []string
	log       *slog.Logger
	retention time.Duration
	// changed is signalled (never blocking) by memberlist callbacks.
	changed   chan struct{}
	closeOnce sync.Once

	mu sync.Mutex
	// engines maps member name to advertised engine address, live agents
	// only.
	engines map[string]string
	// lost maps member name to the engine of an agent that left or died,
	// until the retention ends or an agent advertises that engine again.
	lost map[string]lostEngine
}

// lostEngine is an engine whose agent is gone, and since when.
type lostEngine struct {
	addr  string
	since time.Time
}

// Factory adapts NewManager to discovery.Options.Token.
func Factory(cfg ManagerConfig) discovery.TokenFunc {
	return func(tok string) (discovery.Discovery, error) { return NewManager(tok, cfg) }
}

// NewManager parses tok and starts the manager's gossip member, so a bad
// token or an address in use is reported at start. It joins the other seed
// managers in Watch.
func NewManager(tok string, cfg ManagerConfig) (*Manager, error) {
	t, err := Parse(tok)
	if err != nil {
		return nil, err
	}
	cfg.Timing = cfg.Timing.WithDefaults()
	if err := cfg.Timing.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	self := localSeed(t.Managers)
	if cfg.Bind == "" {
		cfg.Bind = net.JoinHostPort("0.0.0.0", strconv.Itoa(DefaultGossipPort))
		if self != "" {
			_, port, _ := net.SplitHostPort(self)
			cfg.Bind = net.JoinHostPort("0.0.0.0", port)
		}
	}
	if cfg.Advertise == "" {
		cfg.Advertise = self
	}
	switch {
	case cfg.Retention == 0:
		cfg.Retention = DefaultRetention
	case cfg.Retention < 0:
		cfg.Retention = 0
	}
	m := &Manager{log: cfg.Logger, retention: cfg.Retention, changed: make(chan struct{}, 1),
		engines: map[string]string{}, lost: map[string]lostEngine{}}
	for _, s := range t.Managers {
		if s != cfg.Advertise {
			m.seeds = append(m.seeds, s)
		}
	}
	m.ml, err = startGossip(gossipConfig{
		token: t, name: "manager-" + randomSuffix(), bind: cfg.Bind, advertise: cfg.Advertise,
		timing: cfg.Timing, delegate: newMetaDelegate(meta{Role: roleManager}),
		events: (*managerEvents)(m), logger: cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("token discovery manager: %w", err)
	}
	m.log.Info("token discovery: manager gossiping", "cluster", t.ID(), "gossip", m.GossipAddr())
	return m, nil
}

// GossipAddr is the address agents must reach this manager at (what
// `swarm create --manager` should be given).
func (m *Manager) GossipAddr() string {
	n := m.ml.LocalNode()
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}

// Watch sends the current engine addresses at once, then on every change,
// including a lost engine's retention running out. When ctx ends the
// manager leaves the gossip, shuts it down and closes the channel. Call it
// once.
func (m *Manager) Watch(ctx context.Context) <-chan discovery.Update {
	ch := make(chan discovery.Update)
	if len(m.seeds) > 0 {
		go m.joinSeeds()
	}
	go func() {
		defer close(ch)
		defer m.Close()
		expiry := time.NewTimer(time.Hour)
		defer expiry.Stop()
		var last discovery.Update
		for first := true; ; first = false {
			u, next := m.snapshot(time.Now())
			if next > 0 {
				expiry.Reset(next)
			}
			if first || !slices.Equal(u.Addrs, last.Addrs) || !slices.Equal(u.Down, last.Down) {
				last = u
				if !sendUpdate(ctx, ch, u) {
					return
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-m.changed:
			case <-expiry.C:
			}
		}
	}()
	return ch
}

// joinSeeds contacts the other seed managers. They may not be up yet;
// agents join every seed, which merges managers into one cluster anyway, so
// failure is only logged.
func (m *Manager) joinSeeds() {
	if n, err := m.ml.Join(m.seeds); err != nil {
		m.log.Warn("token discovery: no other manager reachable yet; agents will connect us",
			"seeds", m.seeds, "err", oneLine(err))
	} else {
		m.log.Info("token discovery: joined other managers", "reached", n)
	}
}

// Close leaves the gossip (telling the others at once) and stops it. It is
// idempotent and safe to call whether or not Watch was called.
func (m *Manager) Close() error {
	var err error
	m.closeOnce.Do(func() {
		if lerr := m.ml.Leave(time.Second); lerr != nil {
			m.log.Debug("token discovery: leave", "err", lerr)
		}
		err = m.ml.Shutdown()
	})
	return err
}

// snapshot returns the live engines and the retained lost ones, dropping
// those whose retention ended by now, and how long until the next one ends
// (0: none retained).
func (m *Manager) snapshot(now time.Time) (discovery.Update, time.Duration) {
	m.mu.Lock()
	up := make([]string, 0, len(m.engines))
	live := make(map[string]bool, len(m.engines))
	for _, a := range m.engines {
		up = append(up, a)
		live[a] = true
	}
	var down, expired []string
	var next time.Duration
	for name, l := range m.lost {
		left := l.since.Add(m.retention).Sub(now)
		if left <= 0 {
			delete(m.lost, name)
			expired = append(expired, l.addr)
			continue
		}
		if next == 0 || left < next {
			next = left
		}
		if !live[l.addr] {
			down = append(down, l.addr)
		}
	}
	m.mu.Unlock()
	for _, a := range expired {
		if !live[a] {
			m.log.Info("token discovery: engine dropped, its agent stayed away past the retention",
				"engine", a, "retention", m.retention)
		}
	}
	u := discovery.Update{Addrs: discovery.Normalize(up)}
	if len(down) > 0 {
		u.Down = discovery.Normalize(down)
	}
	return u, next
}

// signal wakes Watch without ever blocking memberlist.
func (m *Manager) signal() {
	select {
	case m.changed <- struct{}{}:
	default:
	}
}

func sendUpdate(ctx context.Context, ch chan<- discovery.Update, u discovery.Update) bool {
	select {
	case ch <- u:
		return true
	case <-ctx.Done():
		return false
	}
}

// managerEvents implements memberlist.EventDelegate for the Manager.
type managerEvents Manager

func (e *managerEvents) NotifyJoin(n *memberlist.Node)   { (*Manager)(e).observe(n, true) }
func (e *managerEvents) NotifyUpdate(n *memberlist.Node) { (*Manager)(e).observe(n, true) }
func (e *managerEvents) NotifyLeave(n *memberlist.Node)  { (*Manager)(e).observe(n, false) }

// observe records one member event. Invalid metadata is logged and the
// member ignored: one broken agent must not affect the others.
func (m *Manager) observe(n *memberlist.Node, alive bool) {
	engine := ""
	if alive {
		md, err := decodeMeta(n.Meta)
		switch {
		case err != nil:
			m.log.Warn("token discovery: member with unreadable metadata ignored", "member", n.Name, "err", err)
		case md.Role != roleAgent:
		default:
			addr, err := discovery.ValidateAddr(md.Engine)
			if err != nil {
				m.log.Warn("token discovery: agent advertises a bad engine address, ignored", "member", n.Name, "err", err)
			} else {
				engine = addr
			}
		}
	}
	m.mu.Lock()
	old, had := m.engines[n.Name]
	if engine == "" {
		delete(m.engines, n.Name)
		if !alive && had && m.retention > 0 {
			m.lost[n.Name] = lostEngine{addr: old, since: time.Now()}
		}
	} else {
		m.engines[n.Name] = engine
		// A new agent for a lost engine (restarted, or the old member
		// back after a partition) ends its retention.
		for name, l := range m.lost {
			if l.addr == engine {
				delete(m.lost, name)
			}
		}
	}
	m.mu.Unlock()
	switch {
	case engine != "" && !had:
		m.log.Info("token discovery: engine joined", "engine", engine, "member", n.Name)
	case engine == "" && had && !alive:
		// memberlist does not tell a leave from a death here (Node.State
		// is not updated before NotifyLeave).
		m.log.Warn("token discovery: engine lost: its agent left or stopped answering for --ttl",
			"engine", old, "member", n.Name, "retained_for", m.retention)
	case engine == "" && had:
		m.log.Warn("token discovery: engine removed: its agent no longer advertises a valid engine", "engine", old, "member", n.Name)
	case engine != old:
		m.log.Info("token discovery: engine address changed", "from", old, "to", engine, "member", n.Name)
	default:
		return
	}
	m.signal()
}

// localSeed returns the first of the token's manager addresses whose host is
// an address of this machine, or "".
func localSeed(seeds []string) string {
	ifAddrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, s := range seeds {
		host, _, err := net.SplitHostPort(s)
		if err != nil {
			continue
		}
		ip := net.ParseIP(host)
		if ip == nil {
			continue
		}
		for _, a := range ifAddrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
				return s
			}
		}
	}
	return ""
}
