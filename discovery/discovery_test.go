package discovery

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wait bounds every channel receive so a broken source fails the test instead
// of hanging it.
const wait = 5 * time.Second

func next(t *testing.T, ch <-chan Update) Update {
	t.Helper()
	select {
	case u, ok := <-ch:
		require.True(t, ok, "channel closed early")
		return u
	case <-time.After(wait):
		require.FailNow(t, "no update")
	}
	return Update{}
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "nodes")
	require.NoError(t, os.WriteFile(good, []byte("b:1\na:1\n"), 0o600))
	bad := filepath.Join(dir, "bad")
	require.NoError(t, os.WriteFile(bad, []byte("a:1\nnope\n"), 0o600))

	tests := []struct {
		name    string
		url     string
		want    []string
		wantErr string
	}{
		{name: "nodes", url: "nodes://b:1,a:1", want: []string{"a:1", "b:1"}},
		{name: "bare list", url: "b:1,a:1", want: []string{"a:1", "b:1"}},
		{name: "bare tcp entry", url: "tcp://a:1", want: []string{"a:1"}},
		{name: "scheme case", url: "NODES://a:1", want: []string{"a:1"}},
		{name: "range", url: "nodes://10.0.0.[1:2]:2375", want: []string{"10.0.0.1:2375", "10.0.0.2:2375"}},
		{name: "file", url: "file://" + good, want: []string{"a:1", "b:1"}},
		{name: "file bad line", url: "file://" + bad, wantErr: `line 2: bad discovery entry: "nope"`},
		{name: "file missing", url: "file://" + filepath.Join(dir, "none"), wantErr: "must exist"},
		{name: "unknown scheme", url: "consul://x:8500", wantErr: `unknown scheme "consul"`},
		{name: "empty", url: "  ", wantErr: "empty"},
		{name: "nothing after scheme", url: "nodes://", wantErr: "nothing after nodes://"},
		{name: "bad node", url: "nodes://a:1,b:99999", wantErr: `"b:99999" has port "99999"`},
		{name: "token not wired", url: "token://abc", wantErr: "not available"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := New(tt.url, Options{})
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			assert.Equal(t, Update{Addrs: tt.want}, next(t, d.Watch(ctx)))
		})
	}
}

func TestNewTokenUsesInjectedFunc(t *testing.T) {
	var got string
	want := Static{"x:1"}
	d, err := New("token://secret", Options{Token: func(tok string) (Discovery, error) {
		got = tok
		return want, nil
	}})
	require.NoError(t, err)
	assert.Equal(t, "secret", got)
	assert.Equal(t, want, d)

	boom := errors.New("boom")
	_, err = New("token://secret", Options{Token: func(string) (Discovery, error) { return nil, boom }})
	assert.ErrorIs(t, err, boom)
}

func TestStaticClosesOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := Static{"b:1", "a:1", "a:1"}.Watch(ctx)
	assert.Equal(t, []string{"a:1", "b:1"}, next(t, ch).Addrs)
	cancel()
	select {
	case _, ok := <-ch:
		assert.False(t, ok, "no second update expected")
	case <-time.After(wait):
		require.FailNow(t, "channel not closed after cancel")
	}
}
