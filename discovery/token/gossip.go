package token

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// DefaultGossipPort is the gossip port managers and agents bind by default
// (memberlist's conventional port).
const DefaultGossipPort = 7946

// Timing is the failure-detection budget shared by managers and agents; give
// every member the same values.
//
// Each member probes one other member per Heartbeat, in a shuffled round, so
// in a small cluster a stopped member is probed within about two heartbeats;
// a probe that gets no answer (direct UDP, indirect via peers, then TCP)
// fails at the end of its heartbeat; the member is then suspect for
// SuspicionMult × Heartbeat before it is declared dead and removed.
// SuspicionMult is derived so that this chain fits in TTL for clusters below
// 10 members; memberlist lengthens suspicion by log10(members) above that.
type Timing struct {
	// Heartbeat is the probe interval (classic --heartbeat).
	Heartbeat time.Duration
	// TTL is the bound after which a member that stopped answering is
	// removed (classic --ttl). It must be at least 4 × Heartbeat.
	TTL time.Duration
}

// DefaultTiming removes a killed member within about 3 s in small clusters,
// leaving margin for gossip and the cluster layer inside the 5 s promise.
// Probing every 500 ms costs a few small UDP packets per member per second.
func DefaultTiming() Timing { return Timing{Heartbeat: 500 * time.Millisecond, TTL: 3 * time.Second} }

// WithDefaults fills what is unset: both zero gives DefaultTiming; only one
// set derives the other with the default ratio (TTL = 6 × Heartbeat).
func (t Timing) WithDefaults() Timing {
	switch {
	case t.Heartbeat == 0 && t.TTL == 0:
		return DefaultTiming()
	case t.TTL == 0:
		t.TTL = 6 * t.Heartbeat
	case t.Heartbeat == 0:
		t.Heartbeat = t.TTL / 6
	}
	return t
}

// Validate reports a bad budget, naming the flag and why.
func (t Timing) Validate() error {
	if t.Heartbeat <= 0 {
		return fmt.Errorf("--heartbeat %s: must be positive", t.Heartbeat)
	}
	if t.TTL <= t.Heartbeat {
		return fmt.Errorf("--ttl %s must exceed --heartbeat %s", t.TTL, t.Heartbeat)
	}
	if t.TTL < 4*t.Heartbeat {
		return fmt.Errorf("--ttl %s must be at least 4 × --heartbeat (%s): waiting to be probed (up to two "+
			"heartbeats), the probe itself and the suspicion before removal each take at least one", t.TTL, 4*t.Heartbeat)
	}
	return nil
}

// SuspicionMult is memberlist's suspicion multiplier derived from the budget.
func (t Timing) SuspicionMult() int {
	return max(1, int((t.TTL-3*t.Heartbeat)/t.Heartbeat))
}

// apply sets memberlist's failure-detection knobs from t.
func (t Timing) apply(c *memberlist.Config) {
	c.ProbeInterval = t.Heartbeat
	c.ProbeTimeout = t.Heartbeat / 2
	c.SuspicionMult = t.SuspicionMult()
	// No confirmations to wait for: suspicion lasts exactly its minimum, so
	// the bound does not depend on how many peers happen to confirm.
	c.SuspicionMaxTimeoutMult = 1
	c.GossipInterval = min(c.GossipInterval, t.Heartbeat/2)
}

// Member roles carried in metadata; only agents contribute engine addresses.
const (
	roleManager = "manager"
	roleAgent   = "agent"
	roleList    = "list"
)

// meta is a member's metadata (well below memberlist.MetaMaxSize).
type meta struct {
	Role   string `json:"r"`
	Engine string `json:"e,omitempty"`
}

// metaDelegate serves the local member's metadata; memberlist calls it from
// its own goroutines, so the value is guarded.
type metaDelegate struct {
	mu   sync.Mutex
	meta []byte
}

func newMetaDelegate(m meta) *metaDelegate {
	d := &metaDelegate{}
	d.set(m)
	return d
}

func (d *metaDelegate) set(m meta) {
	b, _ := json.Marshal(m) // two strings: cannot fail
	d.mu.Lock()
	d.meta = b
	d.mu.Unlock()
}

// NodeMeta implements memberlist.Delegate.
func (d *metaDelegate) NodeMeta(limit int) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.meta) > limit {
		return nil
	}
	return append([]byte(nil), d.meta...)
}

// NotifyMsg, GetBroadcasts, LocalState and MergeRemoteState implement
// memberlist.Delegate; membership is all we gossip.
func (d *metaDelegate) NotifyMsg([]byte)                {}
func (d *metaDelegate) GetBroadcasts(int, int) [][]byte { return nil }
func (d *metaDelegate) LocalState(bool) []byte          { return nil }
func (d *metaDelegate) MergeRemoteState([]byte, bool)   {}
func decodeMeta(b []byte) (meta, error) {
	var m meta
	err := json.Unmarshal(b, &m)
	return m, err
}

// gossipConfig is what every member needs to start memberlist.
type gossipConfig struct {
	token     Token
	name      string
	bind      string // host:port; port 0 picks a free port
	advertise string // host:port or "" for memberlist's choice
	timing    Timing
	delegate  memberlist.Delegate
	events    memberlist.EventDelegate
	logger    *slog.Logger
}

// startGossip creates the local memberlist member; it does not join anyone.
func startGossip(gc gossipConfig) (*memberlist.Memberlist, error) {
	c := memberlist.DefaultLANConfig()
	c.Name = gc.name
	host, port, err := splitHostPort(gc.bind, "gossip bind address")
	if err != nil {
		return nil, err
	}
	c.BindAddr, c.BindPort = host, port
	c.AdvertisePort = port
	if gc.advertise != "" {
		ahost, aport, err := splitHostPort(gc.advertise, "gossip advertise address")
		if err != nil {
			return nil, err
		}
		ip, err := resolveIP(ahost)
		if err != nil {
			return nil, fmt.Errorf("gossip advertise address %q: %w", gc.advertise, err)
		}
		c.AdvertiseAddr, c.AdvertisePort = ip, aport
	}
	gc.timing.apply(c)
	c.SecretKey = gc.token.gossipKey()
	c.GossipVerifyIncoming, c.GossipVerifyOutgoing = true, true
	c.Label = gc.token.label()
	c.TCPTimeout = max(2*time.Second, gc.timing.Heartbeat)
	c.Delegate = gc.delegate
	c.Events = gc.events
	c.Logger = log.New(&logBridge{log: gc.logger.With("cluster", gc.token.ID())}, "", 0)
	ml, err := memberlist.Create(c)
	if err != nil {
		return nil, fmt.Errorf("start gossip on %s: %w", gc.bind, err)
	}
	return ml, nil
}

// splitHostPort parses host:port where port 0 (a free port) is allowed.
func splitHostPort(addr, what string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err == nil {
		var port int
		port, err = strconv.Atoi(p)
		if err == nil && port >= 0 && port <= 65535 {
			if host == "" {
				host = "0.0.0.0"
			}
			return host, port, nil
		}
	}
	return "", 0, fmt.Errorf("%s %q: want host:port (port 0-65535, 0 picks a free port), e.g. 0.0.0.0:%d",
		what, addr, DefaultGossipPort)
}

// resolveIP returns host as an IP string, resolving names; memberlist
// advertises IPs only.
func resolveIP(host string) (string, error) {
	if ip := net.ParseIP(host); ip != nil {
		return ip.String(), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return "", fmt.Errorf("resolve %q: %v", host, err)
	}
	return ips[0].String(), nil
}

// randomSuffix makes member names unique, so a restarted agent never
// collides with its own dead incarnation.
func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// logBridge turns memberlist's "[LEVEL] memberlist: msg" lines into slog
// records at the matching level.
type logBridge struct{ log *slog.Logger }

func (b *logBridge) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	level := slog.LevelInfo
	for _, p := range memberlistLevels {
		if bytes.HasPrefix(line, p.prefix) {
			level, line = p.level, bytes.TrimSpace(line[len(p.prefix):])
			break
		}
	}
	if bytes.Contains(line, []byte(closedConn)) {
		// memberlist's gossip timer fires once more after Shutdown closed
		// the sockets: expected on every stop, not an error.
		level = slog.LevelDebug
	}
	b.log.Log(context.Background(), level, string(line))
	return len(p), nil
}

// memberlistLevels maps memberlist's line prefixes to slog levels.
var memberlistLevels = []struct {
	prefix []byte
	level  slog.Level
}{
	{[]byte("[DEBUG]"), slog.LevelDebug}, {[]byte("[INFO]"), slog.LevelInfo},
	{[]byte("[WARN]"), slog.LevelWarn}, {[]byte("[ERR]"), slog.LevelError},
}

// closedConn is how Go reports a write on a socket closed by Shutdown.
const closedConn = "use of closed network connection"

// oneLine flattens memberlist's multi-line join errors ("1 error occurred:\n\t* …")
// so a log line or CLI message stays on one line.
func oneLine(err error) string {
	if err == nil {
		return ""
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

// discardLogger is the default when the caller gives none.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
