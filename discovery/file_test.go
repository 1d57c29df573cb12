package discovery

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// watchFile starts a file source on content with a fast poll interval.
func watchFile(t *testing.T, content string) (path string, ch <-chan Update, cancel context.CancelFunc) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "nodes")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	d, err := New("file://"+path, Options{PollInterval: 5 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return path, d.Watch(ctx), cancel
}

// write replaces the file atomically, as editors and config tools do.
func write(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(content), 0o600))
	require.NoError(t, os.Rename(tmp, path))
}

func TestFileWatchFollowsChanges(t *testing.T) {
	path, ch, _ := watchFile(t, "a:1\n")
	assert.Equal(t, Update{Addrs: []string{"a:1"}}, next(t, ch))

	write(t, path, "a:1\nb:[1:2]\n")
	assert.Equal(t, Update{Addrs: []string{"a:1", "b:1", "b:2"}}, next(t, ch))

	// Comment-only edits are not a membership change; the next real change
	// must be the next update seen.
	write(t, path, "# reordered\nb:[1:2]\na:1\n")
	write(t, path, "b:2\n")
	assert.Equal(t, Update{Addrs: []string{"b:2"}}, next(t, ch))

	write(t, path, "")
	assert.Empty(t, next(t, ch).Addrs, "an emptied file removes every node")
}

func TestFileUnreadableKeepsMembership(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(t *testing.T, path string)
		wantErr string
	}{
		{name: "removed", breakIt: func(t *testing.T, path string) { require.NoError(t, os.Remove(path)) },
			wantErr: "no such file"},
		{name: "malformed", breakIt: func(t *testing.T, path string) { write(t, path, "a:1\nb:0\n") },
			wantErr: `line 2: bad discovery entry: "b:0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, ch, _ := watchFile(t, "a:1\nb:1\n")
			want := []string{"a:1", "b:1"}
			assert.Equal(t, want, next(t, ch).Addrs)

			tt.breakIt(t, path)
			u := next(t, ch)
			require.Error(t, u.Err)
			assert.ErrorIs(t, u.Err, ErrSource)
			assert.Contains(t, u.Err.Error(), "nodes themselves are not affected")
			assert.Contains(t, u.Err.Error(), tt.wantErr)
			assert.Equal(t, want, u.Addrs, "last known membership is kept")

			// Recovery with the same content still clears the error.
			write(t, path, "b:1\na:1\n")
			assert.Equal(t, Update{Addrs: want}, next(t, ch))
		})
	}
}

func TestFileWatchClosesOnCancel(t *testing.T) {
	path, ch, cancel := watchFile(t, "a:1\n")
	next(t, ch)
	cancel()
	write(t, path, "b:1\n")
	// Drain: at most an update racing with cancel, then the channel closes.
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-time.After(wait):
			require.FailNow(t, "channel not closed after cancel")
		}
	}
}

func BenchmarkParseFile(b *testing.B) {
	var content []byte
	for i := 0; i < 1000; i++ {
		content = append(content, []byte("10.0.[0:3].1:2375 # rack\n")...)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFile(content); err != nil {
			b.Fatal(err)
		}
	}
}
