package fakeengine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// actions renders events as "type action" for compact comparisons.
func actions(ms []events.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m.Type) + " " + string(m.Action)
	}
	return out
}

func TestLifecycleEvents(t *testing.T) {
	type call func(ctx context.Context, cli *client.Client, id string) error
	start := func(ctx context.Context, cli *client.Client, id string) error {
		return cli.ContainerStart(ctx, id, container.StartOptions{})
	}
	tests := []struct {
		name    string
		running bool
		paused  bool
		do      call
		want    []string
		state   container.ContainerState // "" when removed
		attr    map[string]string        // extra attributes of the first event
	}{
		{name: "start", do: start, want: []string{"network connect", "container start"}, state: "running"},
		{name: "stop", running: true,
			do: func(ctx context.Context, cli *client.Client, id string) error {
				return cli.ContainerStop(ctx, id, container.StopOptions{})
			},
			want: []string{"container kill", "container die", "network disconnect", "container stop"}, state: "exited", attr: map[string]string{"signal": "15"}},
		{name: "kill", running: true,
			do:   func(ctx context.Context, cli *client.Client, id string) error { return cli.ContainerKill(ctx, id, "") },
			want: []string{"container kill", "container die", "network disconnect"}, state: "exited", attr: map[string]string{"signal": "9"}},
		{name: "kill HUP keeps it running", running: true,
			do: func(ctx context.Context, cli *client.Client, id string) error {
				return cli.ContainerKill(ctx, id, "SIGHUP")
			},
			want: []string{"container kill"}, state: "running", attr: map[string]string{"signal": "1"}},
		{name: "restart running", running: true,
			do: func(ctx context.Context, cli *client.Client, id string) error {
				return cli.ContainerRestart(ctx, id, container.StopOptions{})
			},
			want:  []string{"container kill", "container die", "network disconnect", "container stop", "network connect", "container start", "container restart"},
			state: "running"},
		{name: "restart stopped",
			do: func(ctx context.Context, cli *client.Client, id string) error {
				return cli.ContainerRestart(ctx, id, container.StopOptions{})
			},
			want: []string{"network connect", "container start", "container restart"}, state: "running"},
		{name: "pause", running: true,
			do:   func(ctx context.Context, cli *client.Client, id string) error { return cli.ContainerPause(ctx, id) },
			want: []string{"container pause"}, state: "paused"},
		{name: "unpause", running: true, paused: true,
			do:   func(ctx context.Context, cli *client.Client, id string) error { return cli.ContainerUnpause(ctx, id) },
			want: []string{"container unpause"}, state: "running"},
		{name: "rename",
			do: func(ctx context.Context, cli *client.Client, id string) error {
				return cli.ContainerRename(ctx, id, "renamed")
			},
			want: []string{"container rename"}, state: "created", attr: map[string]string{"oldName": "/c1", "name": "renamed"}},
		{name: "rm stopped",
			do: func(ctx context.Context, cli *client.Client, id string) error {
				return cli.ContainerRemove(ctx, id, container.RemoveOptions{})
			},
			want: []string{"container destroy"}},
		{name: "rm -f running", running: true,
			do: func(ctx context.Context, cli *client.Client, id string) error {
				return cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
			},
			want: []string{"container kill", "container die", "network disconnect", "container destroy"}, attr: map[string]string{"signal": "9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startEngine(t, Options{})
			cli := sdk(t, e)
			ctx := ctxT(t)
			id, err := e.AddContainer(ContainerSpec{Name: "c1", Image: "busybox", Labels: map[string]string{"app": "x"}, Running: tt.running})
			require.NoError(t, err)
			if tt.paused {
				require.NoError(t, e.PauseContainer(id))
			}
			mark := len(e.Events())

			require.NoError(t, tt.do(ctx, cli, id))

			got := e.Events()[mark:]
			assert.Equal(t, tt.want, actions(got))
			for _, m := range got {
				if m.Type == events.ContainerEventType {
					assert.Equal(t, id, m.Actor.ID)
					assert.Equal(t, "busybox", m.Actor.Attributes["image"])
					assert.Equal(t, "x", m.Actor.Attributes["app"], "labels are attributes")
					assert.Equal(t, id, m.ID, "legacy id")
					assert.Equal(t, string(m.Action), m.Status, "legacy status")
					assert.Equal(t, "busybox", m.From, "legacy from")
				} else {
					assert.Equal(t, id, m.Actor.Attributes["container"])
					assert.Equal(t, "bridge", m.Actor.Attributes["name"])
				}
				assert.Equal(t, "local", m.Scope)
				assert.Equal(t, m.TimeNano/1e9, m.Time)
			}
			for k, v := range tt.attr {
				assert.Equal(t, v, got[0].Actor.Attributes[k], k)
			}
			for _, m := range got {
				if m.Action == events.ActionDie {
					assert.NotEmpty(t, m.Actor.Attributes["exitCode"])
				}
			}
			c, err := cli.ContainerInspect(ctx, id)
			if tt.state == "" {
				assert.True(t, errdefs.IsNotFound(err), "removed: %v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.state, c.State.Status)
		})
	}
}

func TestLifecycleErrors(t *testing.T) {
	e := startEngine(t, Options{})
	running, err := e.RunOutside("running", "busybox", nil)
	require.NoError(t, err)
	stopped, err := e.AddContainer(ContainerSpec{Name: "stopped", Image: "busybox"})
	require.NoError(t, err)
	tests := []struct {
		path   string
		status int
	}{
		{"/containers/" + running + "/start", http.StatusNotModified},
		{"/containers/" + stopped + "/stop", http.StatusNotModified},
		{"/containers/" + stopped + "/kill", http.StatusConflict},
		{"/containers/" + stopped + "/pause", http.StatusConflict},
		{"/containers/" + running + "/unpause", http.StatusConflict},
		{"/containers/" + running + "/rename?name=stopped", http.StatusConflict},
		{"/containers/" + running + "/rename?name=running", http.StatusBadRequest},
		{"/containers/" + running + "/kill?signal=NOPE", http.StatusBadRequest},
		{"/containers/nosuch/start", http.StatusNotFound},
		{"/containers/" + stopped + "/wait?condition=bogus", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			mark := len(e.Events())
			resp, err := http.Post("http://"+e.Addr()+"/v1.41"+tt.path, "application/json", nil)
			require.NoError(t, err)
			_ = resp.Body.Close()
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Len(t, e.Events(), mark, "a refused transition emits nothing")
		})
	}
}

func TestWait(t *testing.T) {
	e := startEngine(t, Options{})
	cli := sdk(t, e)
	ctx := ctxT(t)
	id, err := e.RunOutside("job", "busybox", nil)
	require.NoError(t, err)

	// The headers arrive once the wait is registered, so the exit cannot be missed.
	resp, err := http.Post("http://"+e.Addr()+"/v1.41/containers/"+id+"/wait?condition=next-exit", "", nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, e.ExitContainer(id, 3))
	var res container.WaitResponse
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&res))
	assert.Equal(t, int64(3), res.StatusCode)

	resC, errC := cli.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	select {
	case res := <-resC:
		assert.Equal(t, int64(3), res.StatusCode, "not-running answers at once for an exited container")
	case err := <-errC:
		t.Fatal(err)
	}

	resC, errC = cli.ContainerWait(ctx, id, container.WaitConditionRemoved)
	require.NoError(t, e.RemoveContainer(id, false))
	select {
	case res := <-resC:
		assert.Equal(t, int64(3), res.StatusCode)
	case err := <-errC:
		t.Fatal(err)
	}
}

func TestEventsSinceAndFilters(t *testing.T) {
	e := startEngine(t, Options{})
	cli := sdk(t, e)
	ctx := ctxT(t)
	_, err := e.RunOutside("web", "busybox", map[string]string{"tier": "front"})
	require.NoError(t, err)
	_, err = e.RunOutside("cache", "nginx", map[string]string{"tier": "back"})
	require.NoError(t, err)
	require.NoError(t, e.StopContainer("web"))
	all := e.Events()
	require.Len(t, all, 10)
	ts := func(m events.Message) string { return fmt.Sprintf("%d.%09d", m.TimeNano/1e9, m.TimeNano%1e9) }
	until := ts(all[len(all)-1])

	replay := func(opts events.ListOptions) []events.Message {
		msgs, errs := cli.Events(ctx, opts)
		var got []events.Message
		for {
			select {
			case m := <-msgs:
				got = append(got, m)
			case err := <-errs:
				require.ErrorIs(t, err, io.EOF)
				return got
			}
		}
	}
	tests := []struct {
		name string
		opts events.ListOptions
		want []events.Message
	}{
		{"since is inclusive", events.ListOptions{Since: ts(all[3]), Until: until}, all[3:]},
		{"until bounds", events.ListOptions{Since: "0", Until: ts(all[2])}, all[:3]},
		{"type", events.ListOptions{Since: "0", Until: until, Filters: filters.NewArgs(filters.Arg("type", "network"))},
			[]events.Message{all[1], all[4], all[8]}},
		{"container by name", events.ListOptions{Since: "0", Until: until, Filters: filters.NewArgs(filters.Arg("container", "cache"))},
			[]events.Message{all[3], all[5]}},
		{"event and label", events.ListOptions{Since: "0", Until: until, Filters: filters.NewArgs(filters.Arg("event", "start"), filters.Arg("label", "tier=back"))},
			[]events.Message{all[5]}},
		{"image", events.ListOptions{Since: "0", Until: until, Filters: filters.NewArgs(filters.Arg("image", "nginx"))},
			[]events.Message{all[3], all[5]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, replay(tt.opts))
		})
	}

	t.Run("live stream sees new events once subscribed", func(t *testing.T) {
		live, cancel := context.WithCancel(ctx)
		defer cancel()
		msgs, errs := cli.Events(live, events.ListOptions{Filters: filters.NewArgs(filters.Arg("type", "container"))})
		require.Eventually(t, func() bool { return e.EventStreams() == 1 }, 5*time.Second, time.Millisecond)
		require.NoError(t, e.RenameContainer("cache", "store"))
		select {
		case m := <-msgs:
			assert.Equal(t, "rename", string(m.Action))
			assert.Equal(t, "/cache", m.Actor.Attributes["oldName"])
		case err := <-errs:
			t.Fatal(err)
		}
	})
}

// TestDropAndResume: a client that resumes with since=<last event time> after
// every cut sees every event exactly once (after dropping the inclusive
// duplicate), over a hundred cuts, each taken while events were unread.
func TestDropAndResume(t *testing.T) {
	e := startEngine(t, Options{EventHistory: 10000})
	cli := sdk(t, e)
	ctx := ctxT(t)
	const rounds = 200 // each: create, connect, start, kill, die, disconnect, destroy
	var got []events.Message
	var last int64
	var msgs <-chan events.Message
	var errs <-chan error
	subscribe := func() {
		opts := events.ListOptions{Since: "0"}
		if last > 0 {
			opts.Since = fmt.Sprintf("%d.%09d", last/1e9, last%1e9)
		}
		msgs, errs = cli.Events(ctx, opts)
	}
	subscribe()
	require.Eventually(t, func() bool { return e.EventStreams() == 1 }, 5*time.Second, time.Millisecond)
	reconnects := 0
	for i := range rounds {
		id, err := e.RunOutside(fmt.Sprintf("c%d", i), "busybox", nil)
		require.NoError(t, err)
		require.NoError(t, e.RemoveContainer(id, true))
		if i%2 == 0 {
			e.DropEventStreams() // 0 or 1: a resubscription may still be on its way
		}
		for len(got) < (i+1)*7 {
			select {
			case m := <-msgs:
				if m.TimeNano > last { // else the inclusive replay of the last event seen
					got, last = append(got, m), m.TimeNano
				}
			case err := <-errs:
				require.Error(t, err)
				reconnects++
				subscribe()
			case <-ctx.Done():
				t.Fatalf("only %d of %d events after %d reconnects", len(got), (i+1)*7, reconnects)
			}
		}
	}
	assert.GreaterOrEqual(t, reconnects, 50)
	assert.Equal(t, e.Events(), got)
}

// TestLaggingStreamIsCut: a stream that falls further behind than the history
// is cut rather than silently skipped.
func TestLaggingStreamIsCut(t *testing.T) {
	e := startEngine(t, Options{EventHistory: 4})
	resp, err := http.Get("http://" + e.Addr() + "/events")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Eventually(t, func() bool { return e.EventStreams() == 1 }, 5*time.Second, time.Millisecond)
	// Emit more than the history holds in one critical section, so the stream
	// cannot keep up by construction.
	e.mu.Lock()
	for range 10 {
		e.emitLocked(events.DaemonEventType, events.ActionReload, e.id, nil)
	}
	e.mu.Unlock()
	_, err = io.ReadAll(resp.Body)
	assert.Error(t, err, "the stream ends abruptly, not with a clean end of body")
}
