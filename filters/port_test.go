package filters

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/swarmlab/swarm/scheduler"
)

func bind(key, ip, port string) *scheduler.Request {
	return &scheduler.Request{PortBindings: map[string][]scheduler.PortBinding{key: {{HostIP: ip, HostPort: port}}}}
}

func TestPortBridge(t *testing.T) {
	tests := []struct {
		name   string
		have   *scheduler.Container
		req    *scheduler.Request
		pass   bool
		reason string
	}{
		{"same port", ctr("a").Port("80").Build(), bind("80/tcp", "", "80"), false, "port 80 (Bridge mode)"},
		{"other port", ctr("a").Port("81").Build(), bind("80/tcp", "", "80"), true, ""},
		{"other protocol", ctr("a").Port("80/udp").Build(), bind("80/tcp", "", "80"), true, ""},
		{"udp conflicts with udp", ctr("a").Port("53/udp").Build(), bind("53/udp", "", "53"), false, "port 53/udp (Bridge mode)"},
		{"stopped container still holds it", ctr("a").State("exited").Port("80").Build(), bind("80/tcp", "", "80"), false, "port 80 (Bridge mode)"},
		{"in-flight container holds it", ctr("a").State("creating").Port("80").Build(), bind("80/tcp", "", "80"), false, "port 80 (Bridge mode)"},
		{"container on 0.0.0.0 blocks an address", ctr("a").RawPort(scheduler.Port{HostIP: "0.0.0.0", HostPort: 80, Proto: "tcp"}).Build(), bind("80/tcp", "10.0.0.1", "80"), false, "port 10.0.0.1:80 (Bridge mode)"},
		{"container on an address blocks all", ctr("a").Port("10.0.0.1:80").Build(), bind("80/tcp", "", "80"), false, "port 80 (Bridge mode)"},
		{"same address", ctr("a").Port("10.0.0.1:80").Build(), bind("80/tcp", "10.0.0.1", "80"), false, "port 10.0.0.1:80 (Bridge mode)"},
		{"different addresses", ctr("a").Port("10.0.0.1:80").Build(), bind("80/tcp", "10.0.0.2", "80"), true, ""},
		{"random host port never conflicts", ctr("a").Port("80").Build(), bind("80/tcp", "", ""), true, ""},
		{"host port zero is random", ctr("a").Port("80").Build(), bind("80/tcp", "", "0"), true, ""},
		{"publish all never conflicts", ctr("a").Port("80").Build(), &scheduler.Request{PublishAllPorts: true, ExposedPorts: []string{"80/tcp"}}, true, ""},
		{"host-mode container's port is taken", ctr("a").Net("host").Port("80").Build(), bind("80/tcp", "", "80"), false, "port 80 (Bridge mode)"},
		{"different container port, same host port", ctr("a").Port("8080").Build(), bind("80/tcp", "", "8080"), false, "port 8080 (Bridge mode)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names, reasons := passing(t, Port{}, tt.req, node("n").Containers(tt.have).Build(), node("free").Build())
			assert.Contains(t, names, "free")
			assert.Equal(t, tt.pass, len(names) == 2)
			assert.Equal(t, tt.reason, reasons["n"])
		})
	}
}

func TestPortHostMode(t *testing.T) {
	host := func(ports ...string) *scheduler.Request {
		return &scheduler.Request{NetworkMode: "host", ExposedPorts: ports}
	}
	tests := []struct {
		name   string
		have   *scheduler.Container
		req    *scheduler.Request
		pass   bool
		reason string
	}{
		{"host-mode containers conflict", ctr("a").Net("host").Port("80").Build(), host("80/tcp"), false, "port 80/tcp (Host mode)"},
		{"other protocol", ctr("a").Net("host").Port("80/udp").Build(), host("80/tcp"), true, ""},
		{"bridge containers do not conflict", ctr("a").Port("80").Build(), host("80/tcp"), true, ""},
		{"stopped host-mode container still conflicts", ctr("a").Net("host").State("exited").Port("53/udp").Build(), host("53/udp"), false, "port 53/udp (Host mode)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names, reasons := passing(t, Port{}, tt.req, node("n").Containers(tt.have).Build())
			assert.Equal(t, tt.pass, len(names) == 1)
			assert.Equal(t, tt.reason, reasons["n"])
		})
	}
}
