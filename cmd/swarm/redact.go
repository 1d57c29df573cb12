package main

import "github.com/swarmlab/swarm/discovery"

// tokenShown is how many characters of a token:// secret a log line keeps:
// enough to tell two clusters apart, too few to join one.
const tokenShown = 8

// discoveryForLog is the discovery URL as logs and errors may show it. A
// token:// URL carries the cluster's gossip secret (whoever has it can join
// engines or read the member list), so only its first characters are kept;
// nodes:// and file:// are shown whole.
func discoveryForLog(raw string) string {
	scheme, rest, err := discovery.SplitURL(raw)
	if err != nil || scheme != "token" {
		return raw
	}
	if len(rest) > tokenShown {
		rest = rest[:tokenShown] + "…"
	}
	return "token://" + rest
}
