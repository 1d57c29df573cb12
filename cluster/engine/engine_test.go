package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/cluster"
	"github.com/swarmlab/swarm/cluster/engine"
	"github.com/swarmlab/swarm/test/fakeengine"
)

// The SDK engine is what the cluster dials.
var _ cluster.Engine = (*engine.Engine)(nil)

func TestDialAddresses(t *testing.T) {
	tests := []struct {
		addr    string
		want    string
		wantErr string
	}{
		{addr: "10.0.0.5:2375", want: "10.0.0.5:2375"},
		{addr: "tcp://10.0.0.5:2376", want: "10.0.0.5:2376"},
		{addr: "https://host.example:2376/", want: "host.example:2376"},
		{addr: "[::1]:2375", want: "[::1]:2375"},
		{addr: "10.0.0.5", wantErr: "want host:port"},
		{addr: ":2375", wantErr: "want host:port"},
		{addr: "host:http", wantErr: "is not a number in 1-65535"},
		{addr: "host:0", wantErr: "is not a number in 1-65535"},
		{addr: "host:70000", wantErr: "is not a number in 1-65535"},
		{addr: " bad host:2375", wantErr: "is not a valid host name"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			e, err := engine.Dial(tt.addr, engine.Options{})
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Contains(t, err.Error(), tt.addr)
				return
			}
			require.NoError(t, err)
			defer e.Close()
			assert.Equal(t, tt.want, e.Addr())
			url, _, version := e.Target()
			assert.Equal(t, "http://"+tt.want, url)
			assert.Empty(t, version, "nothing negotiated before the first call")
		})
	}
}

func FuzzDialAddress(f *testing.F) {
	for _, s := range []string{"10.0.0.5:2375", "tcp://h:1", "[::1]:2375", "h", ":", "https://x:65535/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		e, err := engine.Dial(addr, engine.Options{})
		if err != nil {
			if !strings.Contains(err.Error(), "engine address") {
				t.Fatalf("error does not name the address: %v", err)
			}
			return
		}
		defer e.Close()
		if e.Addr() == "" {
			t.Fatal("accepted address with empty host:port")
		}
	})
}

func TestNegotiatesAPIVersion(t *testing.T) {
	for _, v := range []string{"1.41", "1.47", "1.51"} {
		t.Run(v, func(t *testing.T) {
			fe, e := dialFake(t, fakeengine.Options{APIVersion: v, Images: []string{"busybox"}})
			ctx := context.Background()
			info, err := e.Info(ctx)
			require.NoError(t, err)
			assert.Equal(t, fe.ID(), info.ID)
			assert.Equal(t, v, e.APIVersion())
			// Calls after negotiation are accepted at that version.
			id, _, err := e.CreateContainer(ctx, "xx", &container.Config{Image: "busybox"}, &container.HostConfig{}, nil)
			require.NoError(t, err)
			in, err := e.InspectContainer(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, "/xx", in.Name)
			list, err := e.Containers(ctx)
			require.NoError(t, err)
			assert.Len(t, list, 1)
		})
	}
}

func TestErrorsNameTheEngine(t *testing.T) {
	fe, e := dialFake(t, fakeengine.Options{Registry: []string{"busybox"}})
	ctx := context.Background()

	_, err := e.InspectContainer(ctx, "nope")
	require.Error(t, err)
	assert.Contains(t, err.Error(), fe.Addr())

	require.NoError(t, e.PullImage(ctx, "busybox", "", ""))
	err = e.PullImage(ctx, "no/such-image", "", "")
	require.Error(t, err, "a pull the registry refuses is an error even if the HTTP call succeeded")
	assert.Contains(t, err.Error(), fe.Addr())

	fe.Stop()
	_, err = e.Info(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), fe.Addr())
}

// dialFake starts a fake engine and dials it with a short timeout; both
// are closed when the test ends.
func dialFake(t *testing.T, o fakeengine.Options) (*fakeengine.Engine, *engine.Engine) {
	t.Helper()
	fe := fakeengine.New(o)
	require.NoError(t, fe.Start())
	t.Cleanup(fe.Close)
	e, err := engine.Dial(fe.Addr(), engine.Options{Timeout: 2 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	return fe, e
}
