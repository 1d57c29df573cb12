package fakeengine

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInspectEncoderMatchesReference checks the hand-written inspect JSON
// against json.Marshal of the SDK value inspectLocked builds, for every
// state and option the engine models.
func TestInspectEncoderMatchesReference(t *testing.T) {
	e := New(Options{Images: []string{"busybox", "nginx"}})
	mustAdd := func(spec ContainerSpec) string {
		id, err := e.AddContainer(spec)
		require.NoError(t, err)
		return id
	}
	e.AddImage("redis:7", "6379/tcp")
	cases := []struct {
		name  string
		setup func() string
	}{
		{"created", func() string { return mustAdd(ContainerSpec{Name: "created", Image: "busybox"}) }},
		{"running with ports", func() string {
			return mustAdd(ContainerSpec{Name: "web", Image: "nginx", Ports: []string{"8080:80", "127.0.0.1:5353:53/udp", "9000"}, Running: true,
				Labels: map[string]string{"app": "web", "odd": "<a&b>\"é\n"}, Env: []string{"A=1"}, Memory: 1 << 30, NanoCPUs: 5e8, CPUShares: 512})
		}},
		{"publish all", func() string { return mustAdd(ContainerSpec{Image: "nginx", PublishAll: true, Running: true}) }},
		{"stopped keeps bindings", func() string {
			id := mustAdd(ContainerSpec{Name: "stopped", Image: "busybox", Ports: []string{"7000:70"}, Running: true})
			require.NoError(t, e.StopContainer(id))
			return id
		}},
		{"exited with code", func() string {
			id := mustAdd(ContainerSpec{Name: "failed", Image: "busybox", Cmd: []string{"sh", "-c", "exit 3"}, Running: true})
			require.NoError(t, e.ExitContainer(id, 3))
			return id
		}},
		{"paused", func() string {
			id := mustAdd(ContainerSpec{Name: "paused", Image: "busybox", Running: true})
			require.NoError(t, e.PauseContainer(id))
			return id
		}},
		{"links and binds", func() string {
			mustAdd(ContainerSpec{Name: "db", Image: "busybox", Running: true})
			return mustAdd(ContainerSpec{Name: "app", Image: "busybox", Links: []string{"db:database"}, Binds: []string{"data:/data", "/etc/x:/x:ro"}, Running: true})
		}},
		{"renamed link target", func() string {
			mustAdd(ContainerSpec{Name: "cache", Image: "busybox", Running: true})
			id := mustAdd(ContainerSpec{Name: "api", Image: "busybox", Links: []string{"cache"}})
			require.NoError(t, e.RenameContainer("cache", "cache2"))
			return id
		}},
		{"host network", func() string { return mustAdd(ContainerSpec{Image: "busybox", NetworkMode: "host", Running: true}) }},
		{"none network", func() string { return mustAdd(ContainerSpec{Image: "busybox", NetworkMode: "none"}) }},
		{"shared network namespace", func() string {
			mustAdd(ContainerSpec{Name: "ns", Image: "busybox", Running: true})
			return mustAdd(ContainerSpec{Image: "busybox", NetworkMode: "container:ns", Running: true})
		}},
		{"image cmd", func() string { return mustAdd(ContainerSpec{Image: "redis:7", Running: true}) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := tc.setup()
			e.mu.Lock()
			c := e.containers[id]
			require.NotNil(t, c)
			want, err := json.Marshal(e.inspectLocked(c))
			require.NoError(t, err)
			got := e.appendInspectLocked(nil, c)
			e.mu.Unlock()
			require.True(t, json.Valid(got), "%s", got)
			assert.JSONEq(t, string(want), string(got))
		})
	}
}

// TestEventEncoderMatchesReference checks appendEvent against json.Encoder.
func TestEventEncoderMatchesReference(t *testing.T) {
	cases := []struct {
		name string
		msg  events.Message
	}{
		{"container", events.Message{Status: "start", ID: "abc", From: "busybox", Type: events.ContainerEventType, Action: events.ActionStart,
			Actor: events.Actor{ID: "abc", Attributes: map[string]string{"name": "web", "image": "busybox", "z": "<&>", "a": "é\t\"q\""}},
			Scope: "local", Time: 1700000000, TimeNano: 1700000000123456789}},
		{"network without legacy fields", events.Message{Type: events.NetworkEventType, Action: events.ActionConnect,
			Actor: events.Actor{ID: "n1", Attributes: map[string]string{"container": "abc", "name": "bridge", "type": "bridge"}}, Scope: "local", Time: 1, TimeNano: 1}},
		{"nil attributes, zero times", events.Message{Type: events.DaemonEventType, Action: events.ActionReload, Actor: events.Actor{ID: "d"}}},
		{"empty attributes", events.Message{Type: events.ImageEventType, ID: "i", Status: "pull", Action: events.ActionPull, Actor: events.Actor{ID: "i", Attributes: map[string]string{}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want strings.Builder
			require.NoError(t, json.NewEncoder(&want).Encode(&tc.msg))
			assert.Equal(t, want.String(), string(appendEvent(nil, &tc.msg)))
		})
	}
}

// TestAppendStringEscapes compares appendString with encoding/json on the
// characters where the two paths differ.
func TestAppendStringEscapes(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\"", "back\\slash", "<html>&", "tab\t", "nul\x00", "é", "\u2028", "bad\xff"} {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(appendString(nil, s)), "%q", s)
	}
}

// FuzzAppendString: any string comes out as encoding/json writes it.
func FuzzAppendString(f *testing.F) {
	f.Add("web-1")
	f.Add("<a&b>\"\\\n")
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(appendString(nil, s)))
	})
}

// TestZeroRestSkipsWritten: the constant tail never repeats a member the
// encoder writes itself, so the output has no duplicate keys.
func TestZeroRestSkipsWritten(t *testing.T) {
	rest := zeroRest(container.State{}, "Status", "Pid")
	assert.NotContains(t, rest, `"Status"`)
	assert.NotContains(t, rest, `"Pid"`)
	assert.Contains(t, rest, `,"Running":false`)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte("{"+strings.TrimPrefix(rest, ",")+"}"), &m))
	assert.Len(t, m, 9, "State has 12 members: Health is omitted when nil, two are written by the caller")
}
