package token

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/swarmlab/swarm/test/logsink"
)

func TestRouteAdvertise(t *testing.T) {
	tests := []struct {
		name, bind string
		seeds      []string
		want       string
	}{
		{name: "wildcard bind takes the route to the seed", bind: "0.0.0.0:0", seeds: []string{"127.0.0.1:7946"}, want: "127.0.0.1:0"},
		{name: "empty host is a wildcard", bind: ":0", seeds: []string{"127.0.0.1:7946"}, want: "127.0.0.1:0"},
		{name: "explicit bind is left to memberlist", bind: "127.0.0.1:0", seeds: []string{"127.0.0.1:7946"}, want: ""},
		{name: "no seed", bind: "0.0.0.0:0", want: ""},
		{name: "bad bind", bind: "nonsense", seeds: []string{"127.0.0.1:7946"}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, routeAdvertise(tt.bind, tt.seeds))
		})
	}
}

func TestLogBridgeLevels(t *testing.T) {
	tests := []struct {
		line string
		want string
	}{
		{line: "[WARN] memberlist: Was able to connect to x over TCP but UDP probes failed", want: "level=WARN"},
		{line: "[ERR] memberlist: Failed to send gossip to 10.0.0.1:7946: write udp: network is unreachable", want: "level=ERROR"},
		{line: "[ERR] memberlist: Failed to send gossip to 10.0.0.1:7946: write udp [::]:7946->10.0.0.1:7946: use of closed network connection", want: "level=DEBUG"},
		{line: "[DEBUG] memberlist: Initiating push/pull sync with: 10.0.0.1:7946", want: "level=DEBUG"},
		{line: "no prefix", want: "level=INFO"},
	}
	for _, tt := range tests {
		t.Run(tt.want+" "+tt.line[:min(20, len(tt.line))], func(t *testing.T) {
			var buf logsink.Buffer
			b := &logBridge{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
			n, err := b.Write([]byte(tt.line + "\n"))
			assert.NoError(t, err)
			assert.Equal(t, len(tt.line)+1, n)
			assert.Contains(t, buf.String(), tt.want)
		})
	}
}
