package cluster

import (
	"encoding/hex"
	"math/rand"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/scheduler"
)

func inspectFixture(name string, state container.ContainerState, cfg *container.Config, host *container.HostConfig) container.InspectResponse {
	if cfg == nil {
		cfg = &container.Config{Image: "redis"}
	}
	if host == nil {
		host = &container.HostConfig{}
	}
	return container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID: "id-" + name, Name: "/" + name, Image: "sha256:abc", Created: "2024-01-02T03:04:05.000000006Z",
			Path: "redis-server", Args: []string{"--port", "6379"},
			State:      &container.State{Status: state, StartedAt: "2024-01-02T03:04:06Z", FinishedAt: "0001-01-01T00:00:00Z"},
			HostConfig: host,
		},
		Config: cfg,
	}
}

func TestFromInspect(t *testing.T) {
	tests := []struct {
		name      string
		cfg       *container.Config
		host      *container.HostConfig
		wantPorts []scheduler.Port
		wantCPU   int64
		wantMem   int64
		wantLinks []link
	}{
		{name: "plain", wantPorts: nil},
		{
			name: "fixed and random host ports",
			host: &container.HostConfig{PortBindings: nat.PortMap{
				"80/tcp":  {{HostPort: "8080"}},
				"53/udp":  {{HostIP: "10.0.0.1", HostPort: "53"}},
				"443/tcp": {{HostPort: ""}},
				"9/tcp":   {{HostPort: "0"}},
			}},
			wantPorts: []scheduler.Port{{HostIP: "10.0.0.1", HostPort: 53, Proto: "udp"}, {HostPort: 8080, Proto: "tcp"}},
		},
		{
			name:      "host network exposes ports on the host",
			cfg:       &container.Config{Image: "nginx", ExposedPorts: nat.PortSet{"80/tcp": {}}},
			host:      &container.HostConfig{NetworkMode: "host"},
			wantPorts: []scheduler.Port{{HostPort: 80, Proto: "tcp"}},
		},
		{name: "cpus", host: &container.HostConfig{Resources: container.Resources{NanoCPUs: 1_500_000_000, Memory: 1 << 20}}, wantCPU: 1_500_000_000, wantMem: 1 << 20},
		{name: "cpu shares are whole CPUs", host: &container.HostConfig{Resources: container.Resources{CPUShares: 2}}, wantCPU: 2_000_000_000},
		{
			name:      "links give aliases to targets",
			host:      &container.HostConfig{Links: []string{"/db:/web/db", "/cache:/web/redis"}},
			wantLinks: []link{{target: "db", alias: "web/db"}, {target: "cache", alias: "web/redis"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := fromInspect(inspectFixture("web", container.StateRunning, tt.cfg, tt.host))
			assert.Equal(t, "web", e.name)
			assert.Equal(t, "id-web", e.sched.ID)
			assert.Equal(t, "running", e.sched.State)
			assert.Equal(t, tt.wantPorts, e.sched.Ports)
			assert.Equal(t, tt.wantCPU, e.sched.NanoCPUs)
			assert.Equal(t, tt.wantMem, e.sched.Memory)
			assert.Equal(t, tt.wantLinks, e.links())
			assert.Equal(t, "redis-server --port 6379", e.command)
			assert.Equal(t, int64(1704164645), e.created)
		})
	}
}

func TestStatus(t *testing.T) {
	now := time.Date(2024, 1, 2, 4, 4, 6, 0, time.UTC)
	tests := []struct {
		state container.ContainerState
		edit  func(*entry)
		want  string
	}{
		{state: container.StateRunning, want: "Up About an hour"},
		{state: container.StateRunning, edit: func(e *entry) { e.health = healthHealthy }, want: "Up About an hour (healthy)"},
		{state: container.StatePaused, want: "Up About an hour (Paused)"},
		{state: container.StateCreated, want: "Created"},
		{state: container.StateExited, want: "Created"},
		{state: container.StateExited, edit: func(e *entry) { e.finishedAt = now.Add(-3 * time.Second).UnixNano(); e.exitCode = 137 }, want: "Exited (137) 3 seconds ago"},
		{state: container.StateDead, want: "Dead"},
		{state: container.StateRemoving, want: "Removal In Progress"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			e := fromInspect(inspectFixture("web", tt.state, nil, nil))
			if tt.edit != nil {
				tt.edit(e)
			}
			assert.Equal(t, tt.want, e.status(now))
		})
	}
}

func TestLinkAliasNames(t *testing.T) {
	n := newNode("10.0.0.1:2375", time.Now())
	for _, in := range []container.InspectResponse{
		inspectFixture("db", container.StateRunning, nil, nil),
		inspectFixture("web", container.StateRunning, nil, &container.HostConfig{Links: []string{"/db:/web/db"}}),
		inspectFixture("api", container.StateRunning, nil, &container.HostConfig{Links: []string{"/db:/api/database"}}),
	} {
		e := fromInspect(in)
		n.setEntryLocked(e.sched.ID, e)
	}
	aliases := linkAliases(n)
	db, _ := n.entry("id-db")
	s := db.summaryAt(aliases, time.Now(), true)
	assert.Equal(t, []string{"/db", "/api/database", "/web/db"}, s.Names)
	web, _ := n.entry("id-web")
	require.Equal(t, []string{"web"}, web.names(aliases))
}

func TestNormalizeImage(t *testing.T) {
	tests := map[string]string{
		"redis":                "redis:latest",
		"redis:7":              "redis:7",
		"localhost:5000/app":   "localhost:5000/app:latest",
		"localhost:5000/app:1": "localhost:5000/app:1",
		"redis@sha256:0123":    "redis@sha256:0123",
		"sha256:0123456789ab":  "sha256:0123456789ab",
		"0123456789abcdef":     "0123456789abcdef",
		"  busybox ":           "busybox:latest",
		"":                     "",
	}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			assert.Equal(t, want, normalizeImage(in))
		})
	}
}

// Strings thousands of containers share are stored once, and the summary
// still carries the fields kept only in the scheduler's view.
func TestFromInspectInternsSharedStrings(t *testing.T) {
	a := fromInspect(inspectFixture("a", container.StateRunning, &container.Config{Image: "redis", Labels: map[string]string{"tier": "db"}}, nil))
	b := fromInspect(inspectFixture("b", container.StateRunning, &container.Config{Image: "redis", Labels: map[string]string{"tier": "db"}}, nil))
	same := func(x, y string) bool { return unsafe.StringData(x) == unsafe.StringData(y) }
	assert.True(t, same(a.sched.ImageID, b.sched.ImageID), "image ID")
	assert.True(t, same(a.sched.Image, b.sched.Image), "image")
	assert.True(t, same(a.sched.Labels["tier"], b.sched.Labels["tier"]), "label value")
	assert.True(t, same(a.command, b.command), "command")
	assert.Same(t, &a.sched, a.viewLocked(nil), "no aliases: the scheduler's view is sched itself")

	s := a.summaryAt(nil, time.Now(), true)
	assert.Equal(t, "id-a", s.ID)
	assert.Equal(t, "redis", s.Image)
	assert.Equal(t, "sha256:abc", s.ImageID)
	assert.Equal(t, map[string]string{"tier": "db"}, s.Labels)
	assert.Equal(t, container.StateRunning, s.State)
	assert.Equal(t, []string{"/a"}, s.Names)
}

// The listing shows every endpoint as the engine gave it, rare fields
// included, though the cache keeps them compact.
func TestEndpointsListedAsInspected(t *testing.T) {
	in := inspectFixture("web", container.StateRunning, nil, nil)
	nets := map[string]*network.EndpointSettings{
		"bridge": {
			NetworkID: "net-bridge", EndpointID: strings.Repeat("0123456789abcdef", 4), Gateway: "172.17.0.1", IPAddress: "172.17.0.5",
			IPPrefixLen: 16, MacAddress: "02:42:ac:11:00:05", IPv6Gateway: "fd00::1",
			GlobalIPv6Address: "fd00::5", GlobalIPv6PrefixLen: 64,
		},
		"app": {
			NetworkID: "net-app", EndpointID: "ep-2", Gateway: "10.1.0.1", IPAddress: "10.1.0.7", IPPrefixLen: 24,
			Aliases: []string{"web", "www"}, DNSNames: []string{"web", "0123456789ab"}, GwPriority: 5,
			IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: "10.1.0.7"},
			DriverOpts: map[string]string{"com.example.opt": "1"},
		},
		"zodd": {
			// Not in the engine's usual forms: kept as given.
			NetworkID: "net-odd", EndpointID: "EP-3", IPAddress: "10.1.0.007", MacAddress: "02-42-AC-11-00-05",
		},
	}
	in.NetworkSettings = &container.NetworkSettings{Networks: nets}
	e := fromInspect(in)
	require.Len(t, e.nets, 3)
	assert.Equal(t, "app", e.nets[0].name, "sorted by network name")
	assert.Nil(t, e.nets[1].rare, "a plain endpoint keeps no rare fields")
	assert.NotNil(t, e.nets[2].rare, "an odd form is kept verbatim")
	s := e.summaryAt(nil, time.Now(), true)
	require.NotNil(t, s.NetworkSettings)
	assert.Equal(t, nets, s.NetworkSettings.Networks)

	none := fromInspect(inspectFixture("db", container.StateCreated, nil, nil))
	s = none.summaryAt(nil, time.Now(), true)
	require.NotNil(t, s.NetworkSettings, "engines list an empty object, not null")
	assert.Empty(t, s.NetworkSettings.Networks)
}

// Containers with equal labels share one map; different labels do not.
func TestEqualLabelsShareTheCachedMap(t *testing.T) {
	mk := func(name string, labels map[string]string) *entry {
		return fromInspect(inspectFixture(name, container.StateRunning, &container.Config{Image: "redis", Labels: labels}, nil))
	}
	a := mk("a", map[string]string{"app": "web", "tier": "front"})
	b := mk("b", map[string]string{"tier": "front", "app": "web"})
	c := mk("c", map[string]string{"app": "web", "tier": "back"})
	assert.Equal(t, reflect.ValueOf(a.sched.Labels).UnsafePointer(), reflect.ValueOf(b.sched.Labels).UnsafePointer(), "one map")
	assert.NotEqual(t, reflect.ValueOf(a.sched.Labels).UnsafePointer(), reflect.ValueOf(c.sched.Labels).UnsafePointer())
	assert.Equal(t, map[string]string{"app": "web", "tier": "back"}, c.summaryAt(nil, time.Now(), true).Labels)
}

// Links and mounts, which most containers lack, live behind one pointer
// that stays nil without them; with them the listing shows them as given.
func TestRareFields(t *testing.T) {
	plain := fromInspect(inspectFixture("plain", container.StateRunning, nil, nil))
	assert.Nil(t, plain.rare)
	assert.Nil(t, plain.summaryAt(nil, time.Now(), true).Mounts)

	in := inspectFixture("db", container.StateRunning, nil, &container.HostConfig{Links: []string{"/cache:/db/cache"}})
	in.Mounts = []container.MountPoint{{Type: "volume", Name: "data", Destination: "/data", Driver: "local", RW: true}}
	e := fromInspect(in)
	require.NotNil(t, e.rare)
	assert.Equal(t, []link{{target: "cache", alias: "db/cache"}}, e.links())
	assert.Equal(t, in.Mounts, e.summaryAt(nil, time.Now(), true).Mounts)
}

// Endpoint IDs, addresses and MACs in the engine's forms come back
// exactly from their compact bytes; empty ones stay empty.
func TestEndpointBytesRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for range 500 {
		id := make([]byte, 32)
		r.Read(id)
		ep := &network.EndpointSettings{EndpointID: hex.EncodeToString(id)}
		if r.Intn(2) == 0 {
			ep.IPAddress = netip.AddrFrom4([4]byte{byte(r.Intn(256)), byte(r.Intn(256)), byte(r.Intn(256)), byte(r.Intn(256))}).String()
		} else {
			var a [16]byte
			r.Read(a[:])
			ep.IPAddress = netip.AddrFrom16(a).String()
		}
		mac := make(net.HardwareAddr, 6)
		r.Read(mac)
		ep.MacAddress = mac.String()
		c := compactEndpoint("n", ep)
		require.Nil(t, c.rare, "%+v compacts", ep)
		got := c.settings()
		require.Equal(t, ep.EndpointID, got.EndpointID)
		require.Equal(t, ep.IPAddress, got.IPAddress)
		require.Equal(t, ep.MacAddress, got.MacAddress)
	}
	empty := compactEndpoint("n", &network.EndpointSettings{})
	assert.Nil(t, empty.rare)
	assert.Equal(t, &network.EndpointSettings{}, empty.settings(), "a stopped container's endpoint")
}
