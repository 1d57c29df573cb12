package token

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/swarmlab/swarm/discovery"
)

// ListConfig configures List. The zero value is usable.
type ListConfig struct {
	// Seeds are extra manager gossip addresses (--join).
	Seeds []string
	// Bind is the temporary gossip listen address (default 0.0.0.0:0).
	Bind string
	// Logger receives gossip problems.
	Logger *slog.Logger
}

// List joins the gossip briefly, as a member that advertises no engine, and
// returns the engine addresses the agents advertise, sorted. Without the
// right token the join is refused and List returns an error.
func List(ctx context.Context, tok string, cfg ListConfig) ([]string, error) {
	t, err := Parse(tok)
	if err != nil {
		return nil, err
	}
	seeds, err := joinSeeds(t, cfg.Seeds)
	if err != nil {
		return nil, err
	}
	if cfg.Bind == "" {
		cfg.Bind = "0.0.0.0:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	ml, err := startGossip(gossipConfig{
		token: t, name: "list-" + randomSuffix(), bind: cfg.Bind, advertise: routeAdvertise(cfg.Bind, seeds),
		timing:   DefaultTiming(),
		delegate: newMetaDelegate(meta{Role: roleList}), logger: cfg.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	defer func() {
		_ = ml.Leave(time.Second)
		_ = ml.Shutdown()
	}()
	// memberlist.Join has no context; run it aside so ctx still bounds List.
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := ml.Join(seeds)
		done <- result{n, err}
	}()
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("list: %w", ctx.Err())
	case r := <-done:
		if r.n == 0 {
			return nil, fmt.Errorf("list: no manager reachable at %v (wrong token, or managers down?): %s", seeds, oneLine(r.err))
		}
	}
	// Join completed a full state exchange with a seed, so its view is here.
	var addrs []string
	for _, n := range ml.Members() {
		md, err := decodeMeta(n.Meta)
		if err != nil || md.Role != roleAgent {
			continue
		}
		if a, err := discovery.ValidateAddr(md.Engine); err == nil {
			addrs = append(addrs, a)
		}
	}
	return discovery.Normalize(addrs), nil
}

// routeAdvertise is the address the others should gossip back to: for a
// wildcard bind, this host's source address towards the first seed, port 0
// meaning the bound port. Left to itself memberlist advertises the first
// private address it finds, which may be one the members cannot reach
// (they then log send errors until the lister leaves). "" keeps that
// default when the route cannot be found.
func routeAdvertise(bind string, seeds []string) string {
	host, _, err := net.SplitHostPort(bind)
	if err != nil || len(seeds) == 0 {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		return ""
	}
	// Connecting a UDP socket sends nothing; it only picks the route.
	conn, err := net.Dial("udp", seeds[0])
	if err != nil {
		return ""
	}
	defer conn.Close()
	local, ok := conn.LocalAddr().(*net.UDPAddr)
	if !ok {
		return ""
	}
	return net.JoinHostPort(local.IP.String(), "0")
}
