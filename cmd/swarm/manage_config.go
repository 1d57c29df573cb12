package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/swarmlab/swarm/api"
	"github.com/swarmlab/swarm/discovery/token"
	"github.com/swarmlab/swarm/filters"
	"github.com/swarmlab/swarm/pki"
	"github.com/swarmlab/swarm/scheduler"
)

// manageConfig is everything `swarm manage` was told, validated.
type manageConfig struct {
	Hosts        []listenAddr
	Strategy     string
	Filters      []string
	Heartbeat    time.Duration
	Overcommit   float64
	CreateRetry  int
	RefreshMin   time.Duration
	RefreshMax   time.Duration
	FailureRetry int
	EventHistory int
	LogLevel     string
	Discovery    string
	TLS          pki.ServerOptions
	EngineTLS    pki.ClientOptions
	GossipAddr   string
	GossipAdv    string
	GossipTTL    time.Duration
	// LostRetention is how long a token:// node whose join agent is gone
	// stays listed (Unhealthy); 0 removes it at once.
	LostRetention time.Duration
	// Pprof is the loopback address of the profiling listener; "" is off.
	Pprof string
	// MaxHijacked caps concurrent attach/exec streams (api.Config.MaxHijacked).
	MaxHijacked int
}

// listenAddr is one -H value: a TCP address or a unix socket path.
type listenAddr struct {
	Network string // "tcp" or "unix"
	Addr    string // host:port or a path
}

func (l listenAddr) String() string {
	if l.Network == "unix" {
		return "unix://" + l.Addr
	}
	return "tcp://" + l.Addr
}

// Classic swarm's defaults, kept so existing scripts behave the same.
const (
	defaultStrategy     = "spread"
	defaultOvercommit   = 0.05
	defaultRefreshMin   = 30 * time.Second
	defaultRefreshMax   = 60 * time.Second
	defaultFailureRetry = 3
	defaultEventHistory = 10000
	// maxMaxHijacked bounds --max-hijacked: each stream holds two sockets,
	// so more than this would exhaust any sane descriptor limit first.
	maxMaxHijacked = 100_000
)

// manageBoolFlags take no value, so splitInterleaved must not consume the
// next argument after them.
var manageBoolFlags = map[string]bool{"tls": true, "tlsverify": true, "engine-allow-plain": true}

// The valid --strategy and --filter values, taken from the packages that
// implement them so the lists cannot drift.
var (
	knownStrategies = []string{scheduler.Spread.String(), scheduler.Binpack.String(), scheduler.Random.String()}
	knownFilters    = filters.Names()
)

// parseManage reads the manage command line. getenv supplies SWARM_HOST and
// SWARM_DISCOVERY when the flags are absent. Errors are *usageError and name
// the flag and the valid range, except flag.ErrHelp for -h/--help.
func parseManage(args []string, getenv func(string) string, stderr io.Writer) (*manageConfig, error) {
	fs := flag.NewFlagSet("manage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var hosts, filterNames, clusterOpts, discoveryOpts listFlag
	fs.Var(&hosts, "H", "address to listen on: tcp://HOST:PORT or unix:///PATH (repeatable; env SWARM_HOST)")
	fs.Var(&hosts, "host", "same as -H")
	strategy := fs.String("strategy", defaultStrategy, "placement strategy: spread, binpack or random")
	fs.Var(&filterNames, "filter", "filter to enable, in order (repeatable; default all: "+strings.Join(knownFilters, ", ")+")")
	fs.Var(&filterNames, "f", "same as --filter")
	heartbeat := fs.Duration("heartbeat", 0, "token:// gossip probe period (default 500ms; classic swarm's 60s made failures take minutes to notice)")
	ttl := fs.Duration("ttl", 0, "token:// time after which a node whose agent went silent is marked Unhealthy (default 3s)")
	gossipAddr := fs.String("gossip-addr", "", "token:// gossip listen address (default 0.0.0.0:7946)")
	gossipAdv := fs.String("gossip-advertise", "", "token:// gossip address agents reach this manager at")
	lostRetention := fs.Duration("lost-node-retention", token.DefaultRetention,
		"token:// how long a node whose join agent is gone stays listed as Unhealthy before it is removed (0: at once)")
	var tlsOpts pki.ServerOptions
	tlsOpts.RegisterFlags(fs)
	var engineTLS pki.ClientOptions
	engineTLS.RegisterFlags(fs)
	fs.Var(&clusterOpts, "cluster-opt", "cluster option: swarm.overcommit=RATIO, swarm.createretry=N (repeatable)")
	// Classic swarm's --discovery-opt configured key-value stores; no source
	// here takes options, so it is refused rather than silently ignored.
	fs.Var(&discoveryOpts, "discovery-opt", "not supported: nodes://, file:// and token:// take no options")
	refreshMin := fs.Duration("engine-refresh-min-interval", defaultRefreshMin, "shortest period between two refreshes of an engine")
	refreshMax := fs.Duration("engine-refresh-max-interval", defaultRefreshMax, "longest period between two refreshes of an engine")
	failureRetry := fs.Int("engine-failure-retry", defaultFailureRetry, "failed calls before an engine is marked unhealthy")
	history := fs.Int("event-history", defaultEventHistory, "events kept to answer docker events --since")
	maxHijacked := fs.Int("max-hijacked", api.DefaultMaxHijacked, "most attach/exec streams served at once; one more is answered 503")
	pprofAddr := fs.String("pprof", "", "debug: serve Go runtime profiles (net/http/pprof) on this loopback address, e.g. 127.0.0.1:6060")
	logLevel := fs.String("l", "info", "log level: debug, info, warn or error")
	fs.StringVar(logLevel, "log-level", "info", "same as -l")
	if err := fs.Parse(splitInterleaved(args, manageBoolFlags)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err // -h: the flag package printed the help; exit 0
		}
		return nil, &usageError{msg: err.Error()}
	}

	cfg := &manageConfig{
		TLS: tlsOpts, EngineTLS: engineTLS, GossipAddr: *gossipAddr, GossipAdv: *gossipAdv, GossipTTL: *ttl,
		LostRetention: *lostRetention,
		Strategy:      *strategy, Heartbeat: *heartbeat, Overcommit: defaultOvercommit,
		RefreshMin: *refreshMin, RefreshMax: *refreshMax, FailureRetry: *failureRetry,
		EventHistory: *history, LogLevel: *logLevel, Pprof: *pprofAddr,
		MaxHijacked: *maxHijacked,
	}
	if len(hosts) == 0 {
		if env := getenv("SWARM_HOST"); env != "" {
			hosts = strings.Split(env, ",")
		} else {
			hosts = listFlag{fmt.Sprintf("tcp://127.0.0.1:%d", tlsOpts.DefaultPort())}
		}
	}
	for _, h := range hosts {
		l, err := parseListenAddr(h)
		if err != nil {
			return nil, err
		}
		cfg.Hosts = append(cfg.Hosts, l)
	}
	switch fs.NArg() {
	case 0:
		cfg.Discovery = getenv("SWARM_DISCOVERY")
		if cfg.Discovery == "" {
			return nil, usagef("manage: missing discovery: give one argument such as nodes://10.0.0.1:2375,10.0.0.2:2375, file:///etc/swarm/nodes or token://TOKEN (or set SWARM_DISCOVERY)")
		}
	case 1:
		cfg.Discovery = fs.Arg(0)
	default:
		return nil, usagef("manage: expected one discovery argument, got %d: %q", fs.NArg(), fs.Args())
	}
	if len(discoveryOpts) > 0 {
		return nil, usagef("--discovery-opt %q: no discovery source takes options (nodes://, file:// and token:// need none); drop it", discoveryOpts[0])
	}
	if err := cfg.validate(filterNames, clusterOpts); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (cfg *manageConfig) validate(filterNames, clusterOpts []string) error {
	if !contains(knownStrategies, cfg.Strategy) {
		return usagef("--strategy %q: valid strategies are %s", cfg.Strategy, strings.Join(knownStrategies, ", "))
	}
	for _, f := range filterNames {
		for _, name := range strings.Split(f, ",") {
			name = strings.TrimSpace(name)
			if !contains(knownFilters, name) {
				return usagef("--filter %q: valid filters are %s", name, strings.Join(knownFilters, ", "))
			}
			cfg.Filters = append(cfg.Filters, name)
		}
	}
	if len(cfg.Filters) == 0 {
		cfg.Filters = append([]string(nil), knownFilters...)
	}
	if cfg.Heartbeat != 0 && (cfg.Heartbeat < 100*time.Millisecond || cfg.Heartbeat > time.Hour) {
		return usagef("--heartbeat %s: must be between 100ms and 1h", cfg.Heartbeat)
	}
	if cfg.LostRetention < 0 || cfg.LostRetention > 7*24*time.Hour {
		return usagef("--lost-node-retention %s: must be between 0 (remove at once) and 168h", cfg.LostRetention)
	}
	if err := pki.ValidateServerFlags(cfg.TLS); err != nil {
		return usagef("%v", err)
	}
	if cfg.RefreshMin < 100*time.Millisecond || cfg.RefreshMin > time.Hour {
		return usagef("--engine-refresh-min-interval %s: must be between 100ms and 1h", cfg.RefreshMin)
	}
	if cfg.RefreshMax < cfg.RefreshMin || cfg.RefreshMax > time.Hour {
		return usagef("--engine-refresh-max-interval %s: must be at least --engine-refresh-min-interval (%s) and at most 1h", cfg.RefreshMax, cfg.RefreshMin)
	}
	if cfg.FailureRetry < 1 || cfg.FailureRetry > 100 {
		return usagef("--engine-failure-retry %d: must be between 1 and 100", cfg.FailureRetry)
	}
	if cfg.EventHistory < 0 || cfg.EventHistory > 10_000_000 {
		return usagef("--event-history %d: must be between 0 and 10000000", cfg.EventHistory)
	}
	if cfg.MaxHijacked < 1 || cfg.MaxHijacked > maxMaxHijacked {
		return usagef("--max-hijacked %d: must be between 1 and %d (each attach/exec stream holds two sockets)", cfg.MaxHijacked, maxMaxHijacked)
	}
	if cfg.Pprof != "" {
		if err := checkPprofAddr(cfg.Pprof); err != nil {
			return err
		}
	}
	if !contains([]string{"debug", "info", "warn", "error"}, cfg.LogLevel) {
		return usagef("-l %q: valid levels are debug, info, warn, error", cfg.LogLevel)
	}
	for _, opt := range clusterOpts {
		if err := cfg.setClusterOpt(opt); err != nil {
			return err
		}
	}
	return nil
}

func (cfg *manageConfig) setClusterOpt(opt string) error {
	key, value, ok := strings.Cut(opt, "=")
	if !ok {
		return usagef("--cluster-opt %q: expected KEY=VALUE, e.g. swarm.overcommit=0.05", opt)
	}
	switch key {
	case "swarm.overcommit":
		f, err := strconv.ParseFloat(value, 64)
		if err != nil || f < 0 || f > 10 {
			return usagef("--cluster-opt %s: overcommit must be a number from 0 to 10 (0.05 lets reservations exceed the engines' totals by 5%%)", opt)
		}
		cfg.Overcommit = f
	case "swarm.createretry":
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 || n > 100 {
			return usagef("--cluster-opt %s: createretry must be a whole number between 0 and 100", opt)
		}
		cfg.CreateRetry = n
	default:
		return usagef("--cluster-opt %q: unknown option; valid options are swarm.overcommit, swarm.createretry", key)
	}
	return nil
}

// parseListenAddr accepts tcp://HOST:PORT, HOST:PORT, :PORT and unix:///PATH.
func parseListenAddr(s string) (listenAddr, error) {
	bad := func(why string) error {
		return usagef("-H %q: %s; expected tcp://HOST:PORT (e.g. tcp://0.0.0.0:2375) or unix:///PATH", s, why)
	}
	if !strings.Contains(s, "://") {
		s = "tcp://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return listenAddr{}, bad(err.Error())
	}
	switch u.Scheme {
	case "unix":
		if u.Path == "" || u.Host != "" {
			return listenAddr{}, bad("a unix socket needs an absolute path")
		}
		return listenAddr{Network: "unix", Addr: u.Path}, nil
	case "tcp":
		if u.Path != "" && u.Path != "/" {
			return listenAddr{}, bad("a TCP address has no path")
		}
		host, port, err := net.SplitHostPort(u.Host)
		if err != nil {
			return listenAddr{}, bad("missing port")
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return listenAddr{}, bad("port must be between 1 and 65535")
		}
		return listenAddr{Network: "tcp", Addr: net.JoinHostPort(host, port)}, nil
	}
	return listenAddr{}, bad(fmt.Sprintf("unknown scheme %q", u.Scheme))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
