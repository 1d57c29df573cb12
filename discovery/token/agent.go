package token

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/swarmlab/swarm/discovery"
)

// DefaultRetryMax caps the back-off between attempts to reach a manager. It
// is short because a restarted manager knows no agent until one rejoins: the
// engines reappear at most this long after the manager is back.
const DefaultRetryMax = 5 * time.Second

// JoinConfig configures a join agent (swarm join).
type JoinConfig struct {
	// Token is the discovery token, with or without token://.
	Token string
	// Advertise is the engine address (host:port) managers connect to
	// (--advertise, mandatory).
	Advertise string
	// Timing is the failure-detection budget (--heartbeat, --ttl; default
	// Timing.WithDefaults for unset fields). Use the managers' values.
	Timing Timing
	// Delay is the maximum random start delay (--delay), so that many agents
	// started together do not hit the managers at once.
	Delay time.Duration
	// Bind is the gossip listen address (default 0.0.0.0:7946; port 0 picks
	// a free port).
	Bind string
	// GossipAdvertise is the gossip address the others reach this agent at
	// (default: Advertise's host with Bind's port, since the engine's host is
	// by definition reachable from the managers).
	GossipAdvertise string
	// Seeds are extra manager gossip addresses (--join), tried with the
	// token's own.
	Seeds []string
	// RetryMax caps the reconnect back-off (default DefaultRetryMax).
	RetryMax time.Duration
	// Logger receives why joining fails and membership problems.
	Logger *slog.Logger
}

// Agent is a running join agent: a gossip member advertising one engine.
type Agent struct {
	cfg   JoinConfig
	seeds []string
	meta  *metaDelegate
	ml    *memberlist.Memberlist
	log   *slog.Logger
	stop  sync.Once
}

// Join runs an agent until ctx ends: it validates cfg, waits the random
// start delay, joins a manager (retrying with back-off and logging why while
// none is reachable), rejoins if every manager disappears, and leaves the
// gossip when ctx ends. It returns an error only for a bad configuration or
// when the gossip cannot start; ctx ending returns nil.
func Join(ctx context.Context, cfg JoinConfig) error {
	a, err := NewAgent(cfg)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

// NewAgent validates cfg and starts the gossip member without joining, so
// configuration errors (bad flag, address in use) surface at once.
func NewAgent(cfg JoinConfig) (*Agent, error) {
	t, err := Parse(cfg.Token)
	if err != nil {
		return nil, err
	}
	if cfg.Advertise == "" {
		return nil, errors.New("--advertise is required: the engine address (host:port) managers connect to, " +
			"e.g. --advertise=10.0.0.12:2375")
	}
	engine, err := discovery.ValidateAddr(cfg.Advertise)
	if err != nil {
		return nil, fmt.Errorf("--advertise: %w", err)
	}
	cfg.Timing = cfg.Timing.WithDefaults()
	if err := cfg.Timing.Validate(); err != nil {
		return nil, err
	}
	if cfg.Delay < 0 {
		return nil, fmt.Errorf("--delay %s: must not be negative", cfg.Delay)
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = DefaultRetryMax
	}
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	if cfg.Bind == "" {
		cfg.Bind = net.JoinHostPort("0.0.0.0", strconv.Itoa(DefaultGossipPort))
	}
	seeds, err := joinSeeds(t, cfg.Seeds)
	if err != nil {
		return nil, err
	}
	if cfg.GossipAdvertise == "" {
		host, _, _ := net.SplitHostPort(engine)
		_, port, err := splitHostPort(cfg.Bind, "gossip bind address")
		if err != nil {
			return nil, err
		}
		cfg.GossipAdvertise = net.JoinHostPort(host, strconv.Itoa(port))
	}
	a := &Agent{cfg: cfg, seeds: seeds, meta: newMetaDelegate(meta{Role: roleAgent, Engine: engine}),
		log: cfg.Logger.With("engine", engine)}
	a.ml, err = startGossip(gossipConfig{
		token: t, name: "agent-" + engine + "-" + randomSuffix(), bind: cfg.Bind, advertise: cfg.GossipAdvertise,
		timing: cfg.Timing, delegate: a.meta, logger: a.log,
	})
	if err != nil {
		return nil, fmt.Errorf("join agent: %w", err)
	}
	return a, nil
}

// joinSeeds merges the token's managers with --join addresses; at least one
// is needed.
func joinSeeds(t Token, extra []string) ([]string, error) {
	seeds := append([]string(nil), t.Managers...)
	for _, s := range extra {
		addr, err := discovery.ValidateAddr(s)
		if err != nil {
			return nil, fmt.Errorf("--join: %w", err)
		}
		seeds = append(seeds, addr)
	}
	if len(seeds) == 0 {
		return nil, errors.New("no manager to contact: the token carries no manager address and no --join was given; " +
			"create the token with `swarm create --manager host:port` or pass --join host:port")
	}
	return discovery.Normalize(seeds), nil
}

// Run waits the random start delay, then keeps the agent connected to a
// manager until ctx ends, when it leaves the gossip. Call it once.
func (a *Agent) Run(ctx context.Context) error {
	defer a.shutdown()
	if a.cfg.Delay > 0 {
		d := rand.N(a.cfg.Delay)
		a.log.Info("token discovery: random start delay", "delay", d)
		if !wait(ctx, d) {
			return nil
		}
	}
	backoff := a.cfg.Timing.Heartbeat
	for {
		if a.managerAlive() {
			backoff = a.cfg.Timing.Heartbeat
		} else {
			n, err := a.ml.Join(a.seeds)
			switch {
			case err != nil && n == 0:
				a.log.Warn("token discovery: no manager reachable; retrying", "seeds", a.seeds,
					"retry_in", backoff, "err", oneLine(err))
			case !a.managerAlive():
				a.log.Warn("token discovery: reached the gossip but no manager is alive in it; retrying",
					"seeds", a.seeds, "retry_in", backoff)
			default:
				a.log.Info("token discovery: joined", "seeds_reached", n, "members", a.ml.NumMembers())
				backoff = a.cfg.Timing.Heartbeat
				continue
			}
		}
		if !wait(ctx, backoff+rand.N(backoff/2+1)) {
			return nil
		}
		if !a.managerAlive() {
			backoff = min(2*backoff, a.cfg.RetryMax)
		}
	}
}

// SetAdvertise changes the advertised engine address and gossips it; it
// returns once a member received it or the heartbeat-based timeout expired.
func (a *Agent) SetAdvertise(addr string) error {
	engine, err := discovery.ValidateAddr(addr)
	if err != nil {
		return fmt.Errorf("advertise: %w", err)
	}
	a.meta.set(meta{Role: roleAgent, Engine: engine})
	if err := a.ml.UpdateNode(a.cfg.Timing.TTL); err != nil {
		return fmt.Errorf("gossip new advertise address %s: %w", engine, err)
	}
	return nil
}

// managerAlive reports whether any manager is currently a live member.
func (a *Agent) managerAlive() bool {
	for _, n := range a.ml.Members() {
		if md, err := decodeMeta(n.Meta); err == nil && md.Role == roleManager {
			return true
		}
	}
	return false
}

// shutdown leaves (so managers drop the engine at once) and stops gossip.
func (a *Agent) shutdown() {
	a.stop.Do(func() {
		if err := a.ml.Leave(time.Second); err != nil {
			a.log.Debug("token discovery: leave", "err", err)
		}
		_ = a.ml.Shutdown()
	})
}

// wait sleeps d unless ctx ends first; it reports whether d elapsed.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
