package api

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPruneFansOutAndMerges(t *testing.T) {
	f := seedCluster()
	answer := func(id string) *recordingEngine {
		return &recordingEngine{reply: func(w http.ResponseWriter, r *http.Request) {
			switch {
			case strings.HasSuffix(r.URL.Path, "/containers/prune"):
				writeJSON(w, http.StatusOK, map[string]any{"ContainersDeleted": []string{id}, "SpaceReclaimed": 10})
			case strings.HasSuffix(r.URL.Path, "/networks/prune"):
				writeJSON(w, http.StatusOK, map[string]any{"NetworksDeleted": []string{"net-" + id}})
			default:
				writeErrorStatus(w, http.StatusConflict, "a prune operation is already running")
			}
		}}
	}
	f.addEngine(t, "frontend", answer("c1"))
	f.addEngine(t, "backend1", answer("c2"))
	srv := newServer(t, f)

	code, body := do(t, srv, http.MethodPost, "/v1.41/containers/prune", "")
	require.Equal(t, http.StatusOK, code, body)
	var got struct {
		ContainersDeleted []string
		SpaceReclaimed    uint64
	}
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	assert.ElementsMatch(t, []string{"c1", "c2"}, got.ContainersDeleted)
	assert.Equal(t, uint64(20), got.SpaceReclaimed)
	assert.ElementsMatch(t, []string{"ID-frontend/c1", "ID-backend1/c2"}, f.refreshes(), "pruned containers re-read")

	code, body = do(t, srv, http.MethodPost, "/networks/prune", "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, "net-c1")
	assert.NotContains(t, body, "SpaceReclaimed")

	code, body = do(t, srv, http.MethodPost, "/volumes/prune", "")
	assert.Equal(t, http.StatusConflict, code)
	assert.Contains(t, body, "backend1: a prune operation is already running")
}

func TestBuildOnOneNode(t *testing.T) {
	f := seedCluster()
	mk := func() *recordingEngine {
		return &recordingEngine{reply: func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"stream": "Successfully built abc\n"})
		}}
	}
	fe, b1 := mk(), mk()
	f.addEngine(t, "frontend", fe)
	f.addEngine(t, "backend1", b1)
	srv := newServer(t, f)

	code, body := do(t, srv, http.MethodPost, "/v1.41/build?t=app&constraint=node==backend1", "context-tar-bytes")
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, "Successfully built")
	got := b1.last(t)
	assert.Equal(t, "/v1.41/build", got.Path)
	assert.Equal(t, "t=app", got.Query, "the manager's constraint is not passed on")
	assert.Equal(t, "context-tar-bytes", got.Body, "build context streamed through")
	assert.Equal(t, []string{"ID-backend1:images"}, f.refreshes())

	code, _ = do(t, srv, http.MethodPost, "/build?t=app", "x")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "/v1.47/build", fe.last(t).Path, "least busy node (frontend) when unconstrained")
}

func TestDockerCLIBuildLegacy(t *testing.T) {
	f := seedCluster()
	eng := &recordingEngine{reply: func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"stream":"Step 1/1 : FROM busybox\n"}`+"\n"+`{"aux":{"ID":"sha256:abc"}}`+"\n"+`{"stream":"Successfully built abc\n"}`+"\n")
	}}
	f.addEngine(t, "frontend", eng)
	f.addEngine(t, "backend1", eng)
	srv := newServer(t, f)
	dir := t.TempDir()
	require.NoError(t, writeFile(dir+"/Dockerfile", "FROM busybox\n"))
	out, stderr, err := runDocker(t, srv.URL, "build", "-t", "app", dir)
	require.NoError(t, err, stderr)
	assert.Contains(t, out, "Successfully built abc")
	assert.Equal(t, "/v1.41/build", eng.last(t).Path, "the CLI negotiated the cluster version")
}
