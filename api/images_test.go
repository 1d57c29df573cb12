package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pullEngine(fail string) *recordingEngine {
	return &recordingEngine{reply: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if fail != "" {
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, `{"status":"Pulling from library/redis","id":"latest"}`+"\n")
			_, _ = io.WriteString(w, `{"errorDetail":{"message":"`+fail+`"},"error":"`+fail+`"}`+"\n")
			return
		}
		for _, l := range []string{
			`{"status":"Pulling from library/redis","id":"latest"}`,
			`{"status":"Downloading","progressDetail":{"current":1,"total":2},"progress":"[==>  ]","id":"abc123"}`,
			`{"status":"Status: Downloaded newer image for redis:latest"}`,
		} {
			_, _ = io.WriteString(w, l+"\n")
			w.(http.Flusher).Flush()
		}
	}}
}

func pullCluster(t *testing.T, failFrontend string) (*fakeCluster, *recordingEngine, *recordingEngine) {
	f := seedCluster()
	fe, b1 := pullEngine(failFrontend), pullEngine("")
	f.addEngine(t, "frontend", fe)
	f.addEngine(t, "backend1", b1)
	return f, fe, b1
}

func decodeStream(t *testing.T, body string) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := json.NewDecoder(strings.NewReader(body))
	for dec.More() {
		var m map[string]any
		require.NoError(t, dec.Decode(&m))
		out = append(out, m)
	}
	return out
}

func TestPullFansOutWithNodePrefixes(t *testing.T) {
	f, fe, b1 := pullCluster(t, "")
	srv := newServer(t, f)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1.47/images/create?fromImage=redis&tag=latest", nil)
	req.Header.Set("X-Registry-Auth", "creds")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	msgs := decodeStream(t, string(data))
	require.Len(t, msgs, 6, "both healthy nodes, none from the unhealthy one")
	ids := map[string]bool{}
	for _, m := range msgs {
		if id, ok := m["id"].(string); ok {
			ids[id] = true
		} else {
			assert.Regexp(t, `^(frontend|backend1): Status: Downloaded`, m["status"])
		}
		assert.Nil(t, m["error"])
	}
	assert.True(t, ids["frontend: abc123"] && ids["backend1: abc123"], ids)
	for e, path := range map[*recordingEngine]string{fe: "/v1.47/images/create", b1: "/v1.41/images/create"} {
		got := e.last(t)
		assert.Equal(t, path, got.Path, "each engine at the version it speaks")
		assert.Equal(t, "fromImage=redis&tag=latest", got.Query)
		assert.Equal(t, "creds", got.Header.Get("X-Registry-Auth"), "registry auth forwarded")
	}
	assert.ElementsMatch(t, []string{"ID-frontend:images", "ID-backend1:images"}, f.refreshes())
}

func TestPullPartialAndTotalFailure(t *testing.T) {
	t.Run("one node fails", func(t *testing.T) {
		f, _, _ := pullCluster(t, "manifest unknown")
		srv := newServer(t, f)
		_, body := do(t, srv, http.MethodPost, "/images/create?fromImage=redis", "")
		assert.Contains(t, body, `"status":"frontend: error: manifest unknown"`)
		assert.NotContains(t, body, `"error":`, "the CLI must not stop: backend1 succeeded")
		assert.Equal(t, []string{"ID-backend1:images"}, f.refreshes())
	})
	t.Run("every node fails", func(t *testing.T) {
		f := seedCluster()
		f.addEngine(t, "frontend", pullEngine("denied"))
		f.addEngine(t, "backend1", pullEngine("denied"))
		srv := newServer(t, f)
		_, body := do(t, srv, http.MethodPost, "/images/create?fromImage=private/x", "")
		msgs := decodeStream(t, body)
		assert.Contains(t, msgs[len(msgs)-1]["error"], "pull of private/x failed on every node (2)")
	})
	t.Run("no source", func(t *testing.T) {
		srv := newServer(t, seedCluster())
		code, body := do(t, srv, http.MethodPost, "/images/create", "")
		assert.Equal(t, http.StatusBadRequest, code)
		assert.Contains(t, body, "fromImage")
	})
}

func TestDockerCLIPull(t *testing.T) {
	f, _, _ := pullCluster(t, "")
	srv := newServer(t, f)
	out, stderr, err := runDocker(t, srv.URL, "pull", "redis")
	require.NoError(t, err, stderr)
	assert.Contains(t, out, "frontend: Status: Downloaded newer image for redis:latest")
	assert.Contains(t, out, "backend1: Status: Downloaded newer image for redis:latest")
}

func TestListImagesMerged(t *testing.T) {
	srv := newServer(t, seedCluster())
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"sha256:aaa1", "sha256:bbb2"}},
		{"filters=" + url.QueryEscape(`{"node":{"backend1":true}}`), []string{"sha256:aaa1"}},
		{"filters=" + url.QueryEscape(`{"reference":{"ngin*":true}}`), []string{"sha256:bbb2"}},
		{"filters=" + url.QueryEscape(`{"dangling":{"true":true}}`), []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			code, body := do(t, srv, http.MethodGet, "/images/json?"+tt.query, "")
			require.Equal(t, http.StatusOK, code, body)
			var got []image.Summary
			require.NoError(t, json.Unmarshal([]byte(body), &got))
			ids := []string{}
			for _, im := range got {
				ids = append(ids, im.ID)
			}
			assert.ElementsMatch(t, tt.want, ids)
		})
	}
	out, stderr, err := runDocker(t, srv.URL, "images", "--format", "{{.Repository}}:{{.Tag}}")
	require.NoError(t, err, stderr)
	assert.ElementsMatch(t, []string{"redis:latest", "nginx:latest"}, strings.Fields(out))
}

func TestImageForwardTagRemove(t *testing.T) {
	f := seedCluster()
	fe := &recordingEngine{reply: func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodDelete:
			writeJSON(w, http.StatusOK, []image.DeleteResponse{{Untagged: "redis:latest"}})
		case strings.HasSuffix(r.URL.Path, "/tag"):
			w.WriteHeader(http.StatusCreated)
		default:
			writeJSON(w, http.StatusOK, map[string]string{"Id": "sha256:bbb2"})
		}
	}}
	b1 := &recordingEngine{reply: func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			writeErrorStatus(w, http.StatusConflict, "image is being used by running container ffa41d90f414")
			return
		}
		w.WriteHeader(http.StatusCreated)
	}}
	f.addEngine(t, "frontend", fe)
	f.addEngine(t, "backend1", b1)
	srv := newServer(t, f)

	code, body := do(t, srv, http.MethodGet, "/images/nginx/json", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "bbb2")
	assert.Equal(t, "/v1.47/images/nginx/json", fe.last(t).Path, "served by the node that has it")

	code, body = do(t, srv, http.MethodGet, "/images/ghost/json", "")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Contains(t, body, "No such image: ghost")

	code, _ = do(t, srv, http.MethodPost, "/images/redis/tag?repo=myredis&tag=v1", "")
	assert.Equal(t, http.StatusCreated, code)
	assert.Equal(t, "repo=myredis&tag=v1", fe.last(t).Query)
	assert.Equal(t, "repo=myredis&tag=v1", b1.last(t).Query, "tag fans out to every node with the image")

	code, body = do(t, srv, http.MethodDelete, "/images/redis", "")
	assert.Equal(t, http.StatusConflict, code)
	assert.Contains(t, body, "backend1: image is being used by running container")
	assert.Contains(t, body, "(succeeded on frontend)")

	code, body = do(t, srv, http.MethodPost, "/images/redis/tag", "")
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body, "repo=")
}

func TestPullConstrained(t *testing.T) {
	tests := []struct {
		query  string
		status int
		nodes  []string
		want   string
	}{
		{"constraint=node==backend1", 200, []string{"backend1"}, ""},
		{"constraint=" + url.QueryEscape("constraint:public==yes"), 200, []string{"frontend"}, ""},
		{"constraint=" + url.QueryEscape("public!=yes"), 200, []string{"backend1"}, ""},
		{"constraint=model==gpu", 404, nil, "no healthy node satisfies model==gpu"},
		{"constraint=" + url.QueryEscape("==x"), 400, nil, "invalid constraint"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			f, _, _ := pullCluster(t, "")
			srv := newServer(t, f)
			code, body := do(t, srv, http.MethodPost, "/images/create?fromImage=redis&"+tt.query, "")
			assert.Equal(t, tt.status, code, body)
			assert.Contains(t, body, tt.want)
			var got []string
			for _, r := range f.refreshes() {
				got = append(got, strings.TrimSuffix(strings.TrimPrefix(r, "ID-"), ":images"))
			}
			assert.Equal(t, tt.nodes, got)
		})
	}
}

func TestRegistryAuthNeverLogged(t *testing.T) {
	f, _, b1 := pullCluster(t, "")
	var logs strings.Builder
	s, err := New(Config{Cluster: f, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	for _, path := range []string{"/images/create?fromImage=redis", "/containers/create?name=x"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(`{"Image":"redis"}`))
		req.Header.Set("X-Registry-Auth", "c3VwZXJzZWNyZXQ=")
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	assert.Equal(t, "c3VwZXJzZWNyZXQ=", b1.last(t).Header.Get("X-Registry-Auth"), "forwarded")
	assert.Contains(t, logs.String(), "path=/images/create", "requests are logged")
	assert.NotContains(t, logs.String(), "c3VwZXJzZWNyZXQ=")
}
