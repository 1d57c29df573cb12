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
	// Logger receives membership changes and gossip problems.
	Logger *slog.Logger
}

// Manager is the manager side of token://: a gossip member that turns the
// agents' advertised engine addresses into discovery updates. Members that
// leave or stay unreachable past Timing.TTL are removed.
type Manager struct {
	ml    *memberlist.Memberlist
	seeds []string
	log   *slog.Logger
	// changed is signalled (never blocking) by memberlist callbacks.
	changed   chan struct{}
	closeOnce sync.Once

	mu sync.Mutex
	// engines maps member name to advertised engine address, agents only.
	engines map[string]string
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
	m := &Manager{log: cfg.Logger, changed: make(chan struct{}, 1), engines: map[string]string{}}
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
	local := m.ml.LocalNode()
	m.log.Info("token discovery: manager gossiping", "cluster", t.ID(),
		"gossip", net.JoinHostPort(local.Addr.String(), strconv.Itoa(int(local.Port))))
	return m, nil
}

// GossipAddr is the address agents must reach this manager at (what
// `swarm create --manager` should be given).
func (m *Manager) GossipAddr() string {
	n := m.ml.LocalNode()
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}

// Watch sends the current engine addresses at once, then on every change.
// When ctx ends the manager leaves the gossip, shuts it down and closes the
// channel. Call it once.
func (m *Manager) Watch(ctx context.Context) <-chan discovery.Update {
	ch := make(chan discovery.Update)
	if len(m.seeds) > 0 {
		go m.joinSeeds()
	}
	go func() {
		defer close(ch)
		defer m.Close()
		last := m.snapshot()
		if !sendUpdate(ctx, ch, discovery.Update{Addrs: last}) {
			return
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-m.changed:
			}
			addrs := m.snapshot()
			if slices.Equal(addrs, last) {
				continue
			}
			last = addrs
			if !sendUpdate(ctx, ch, discovery.Update{Addrs: addrs}) {
				return
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

func (m *Manager) snapshot() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	addrs := make([]string, 0, len(m.engines))
	for _, a := range m.engines {
		addrs = append(addrs, a)
	}
	return discovery.Normalize(addrs)
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
	} else {
		m.engines[n.Name] = engine
	}
	m.mu.Unlock()
	switch {
	case engine != "" && !had:
		m.log.Info("token discovery: engine joined", "engine", engine, "member", n.Name)
	case engine == "" && had:
		m.log.Info("token discovery: engine left or unreachable past ttl", "engine", old, "member", n.Name)
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
