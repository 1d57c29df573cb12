package engine_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/cluster/engine"
	"github.com/swarmlab/swarm/test/fakeengine"
)

// createRecorder is a fake engine behind a server that keeps the last
// container create and the last image create (pull) it passed on.
type createRecorder struct {
	mu        sync.Mutex
	path      string
	query     url.Values
	body      []byte
	pullQuery url.Values
}

func (c *createRecorder) last() (string, url.Values, []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.path, c.query, c.body
}

func recordCreates(t *testing.T, o fakeengine.Options) (*createRecorder, *engine.Engine) {
	t.Helper()
	fe := fakeengine.New(o)
	rec := &createRecorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/images/create") {
			rec.mu.Lock()
			rec.pullQuery = r.URL.Query()
			rec.mu.Unlock()
		}
		if strings.HasSuffix(r.URL.Path, "/containers/create") {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			rec.mu.Lock()
			rec.path, rec.query, rec.body = r.URL.Path, r.URL.Query(), body
			rec.mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		fe.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	e, err := engine.Dial(srv.Listener.Addr().String(), engine.Options{Timeout: 2 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	return rec, e
}

// A client's create body reaches the engine byte for byte (a member the
// SDK does not know included), at the client's API version unless the
// engine's is lower, with the name and the platform in the query; the
// engine's refusals keep their kind.
func TestCreateContainerBodySendsTheClientsBytes(t *testing.T) {
	rec, e := recordCreates(t, fakeengine.Options{Images: []string{"busybox"}, APIVersion: "1.43"})
	ctx := context.Background()
	body := []byte(`{"Image":"busybox","Cmd":["true"],"FieldFromTheFuture":{"x":[1,2]},"HostConfig":{"Memory":0}}`)
	for i, tc := range []struct{ client, path string }{
		{"1.41", "/v1.41/containers/create"},
		{"", "/v1.43/containers/create"},     // unversioned client: the engine's version
		{"1.51", "/v1.43/containers/create"}, // newer than the engine: the engine's
	} {
		name := []string{"a1", "a2", "a3"}[i]
		id, _, err := e.CreateContainerBody(ctx, tc.client, name, "linux/amd64", body)
		require.NoError(t, err, "client version %q", tc.client)
		assert.NotEmpty(t, id)
		path, query, got := rec.last()
		assert.Equal(t, tc.path, path, "client version %q", tc.client)
		assert.Equal(t, name, query.Get("name"))
		assert.Equal(t, "linux/amd64", query.Get("platform"))
		assert.Equal(t, string(body), string(got), "the bytes the client sent")
	}

	_, _, err := e.CreateContainerBody(ctx, "1.41", "a1", "", body)
	require.Error(t, err)
	assert.True(t, cerrdefs.IsConflict(err), "a taken name is a conflict, as through the SDK: %v", err)
	assert.Contains(t, err.Error(), "is already in use")
	assert.True(t, strings.HasSuffix(err.Error(), "to be able to reuse that name."), "the engine's words, nothing after them: %v", err)
	_, query, _ := rec.last()
	assert.False(t, query.Has("platform"), "no platform asked, none sent")

	_, _, err = e.CreateContainerBody(ctx, "1.41", "", "", []byte(`{"Image":"nosuchimage"}`))
	require.Error(t, err)
	assert.True(t, cerrdefs.IsNotFound(err), "a missing image is not found: %v", err)
}

// The pull before a create on a node that lacks the image asks for the
// create's platform, so the create then finds the image it needs.
func TestPullImageAsksForThePlatform(t *testing.T) {
	rec, e := recordCreates(t, fakeengine.Options{})
	ctx := context.Background()
	require.NoError(t, e.PullImage(ctx, "busybox:latest", "", "linux/arm64"))
	rec.mu.Lock()
	q := rec.pullQuery
	rec.mu.Unlock()
	require.NotNil(t, q, "a pull reached the engine")
	assert.Equal(t, "docker.io/library/busybox", q.Get("fromImage"))
	assert.Equal(t, "linux/arm64", q.Get("platform"))

	require.NoError(t, e.PullImage(ctx, "busybox:latest", "", ""))
	rec.mu.Lock()
	q = rec.pullQuery
	rec.mu.Unlock()
	assert.False(t, q.Has("platform"), "no platform asked, none sent: %v", q)
}
