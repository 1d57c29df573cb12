package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/swarmlab/swarm/discovery"
	"github.com/swarmlab/swarm/discovery/token"
)

// runCreate prints a new discovery token: `swarm create [--manager HOST:PORT]…`.
// The manager addresses are the gossip addresses (default port 7946) agents
// use to find a manager; they travel inside the token.
func runCreate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var managers listFlag
	fs.Var(&managers, "manager", fmt.Sprintf("gossip address HOST:PORT of a manager agents join (repeatable; port %d by default)", token.DefaultGossipPort))
	if err := fs.Parse(args); err != nil {
		return exitUsage(stderr, err)
	}
	if fs.NArg() > 0 {
		return exitUsage(stderr, usagef("create: unexpected argument %q; usage: swarm create [--manager HOST:PORT]...", fs.Arg(0)))
	}
	tok, err := token.Create(managers)
	if err != nil {
		fmt.Fprintf(stderr, "swarm create: %v\n", err)
		return 2
	}
	fmt.Fprintln(stdout, tok)
	return 0
}

// runJoin runs a node agent: `swarm join --advertise=HOST:PORT token://TOKEN`.
func runJoin(args []string, _, stderr io.Writer) int {
	fs := flag.NewFlagSet("join", flag.ContinueOnError)
	fs.SetOutput(stderr)
	advertise := fs.String("advertise", "", "address HOST:PORT of this node's Docker engine, as managers reach it (mandatory)")
	fs.StringVar(advertise, "addr", "", "same as --advertise")
	heartbeat := fs.Duration("heartbeat", 0, "gossip probe period (default 500ms); use the managers' value")
	ttl := fs.Duration("ttl", 0, "time after which managers mark this node Unhealthy once the agent goes silent (default 3s; at least 4 × --heartbeat)")
	delay := fs.Duration("delay", 0, "wait a random time up to this before joining, so many agents do not start at once")
	var seeds listFlag
	fs.Var(&seeds, "join", "extra manager gossip address HOST:PORT (repeatable)")
	bind := fs.String("gossip-addr", "", fmt.Sprintf("gossip listen address (default 0.0.0.0:%d)", token.DefaultGossipPort))
	gossipAdvertise := fs.String("gossip-advertise", "", "gossip address managers reach this agent at (default: --advertise's host)")
	logLevel := fs.String("l", "info", "log level: debug, info, warn or error")
	if err := fs.Parse(splitInterleaved(args, nil)); err != nil {
		return exitUsage(stderr, err)
	}
	if fs.NArg() != 1 {
		return exitUsage(stderr, usagef("join: expected one discovery argument token://TOKEN, got %d", fs.NArg()))
	}
	if *advertise == "" {
		return exitUsage(stderr, usagef("join: --advertise is mandatory: the address HOST:PORT of this node's Docker engine, e.g. --advertise=10.0.0.12:2375"))
	}
	if *delay < 0 || *delay > time.Hour {
		return exitUsage(stderr, usagef("--delay %s: must be between 0 and 1h", *delay))
	}
	if scheme, _, err := discovery.SplitURL(fs.Arg(0)); err == nil && scheme != "token" {
		if scheme == "" {
			scheme = "nodes"
		}
		return exitUsage(stderr, usagef("join: %s:// discovery needs no agent: list the engine in the manager's discovery instead; join is for token://TOKEN", scheme))
	}
	logger, err := newLogger(*logLevel, stderr)
	if err != nil {
		return exitUsage(stderr, err)
	}
	timing := token.Timing{Heartbeat: *heartbeat, TTL: *ttl}.WithDefaults()
	if err := timing.Validate(); err != nil {
		return exitUsage(stderr, usagef("join: %v", err))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = token.Join(ctx, token.JoinConfig{
		Token: fs.Arg(0), Advertise: *advertise, Timing: timing, Delay: *delay,
		Bind: *bind, GossipAdvertise: *gossipAdvertise, Seeds: seeds, Logger: logger,
	})
	if err != nil {
		fmt.Fprintf(stderr, "swarm join: %v\n", err)
		return 1
	}
	return 0
}

// runList prints a cluster's engine addresses, one per line.
func runList(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for the discovery source")
	var seeds listFlag
	fs.Var(&seeds, "join", "extra manager gossip address HOST:PORT for token:// (repeatable)")
	if err := fs.Parse(splitInterleaved(args, nil)); err != nil {
		return exitUsage(stderr, err)
	}
	if fs.NArg() != 1 {
		return exitUsage(stderr, usagef("list: expected one discovery argument (token://TOKEN, nodes://…, file://…), got %d", fs.NArg()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	addrs, err := listMembers(ctx, fs.Arg(0), seeds)
	if err != nil {
		fmt.Fprintf(stderr, "swarm list: %v\n", err)
		return 1
	}
	if len(addrs) > 0 {
		fmt.Fprintln(stdout, strings.Join(addrs, "\n"))
	}
	return 0
}

func listMembers(ctx context.Context, raw string, seeds []string) ([]string, error) {
	if scheme, _, err := discovery.SplitURL(raw); err == nil && scheme == "token" {
		return token.List(ctx, raw, token.ListConfig{Seeds: seeds})
	}
	d, err := discovery.New(raw, discovery.Options{})
	if err != nil {
		return nil, err
	}
	select {
	case u, ok := <-d.Watch(ctx):
		if !ok {
			return nil, ctx.Err()
		}
		return u.Addrs, u.Err
	case <-ctx.Done():
		return nil, fmt.Errorf("no answer from %s within the timeout: %w", raw, ctx.Err())
	}
}

// exitUsage prints a usage error and returns exit code 2; -h prints help
// and returns 0.
func exitUsage(stderr io.Writer, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "swarm: %v\n", err)
	return 2
}
