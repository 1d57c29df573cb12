package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/swarmlab/swarm/cluster"
	"github.com/swarmlab/swarm/scheduler"
)

func TestCreateContainer(t *testing.T) {
	f := psCluster()
	f.createWarnings = []string{"Your kernel does not support swap limit capabilities."}
	srv := newServer(t, f)
	body := `{"Image":"redis","Env":["constraint:model==high-memory"],"HostConfig":{"Links":["redis:redis"]}}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1.47/containers/create?name=cache&platform=linux/amd64", strings.NewReader(body))
	req.Header.Set("X-Registry-Auth", "secret-token")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	var created container.CreateResponse
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&created))
	assert.Len(t, created.ID, 64)
	assert.Equal(t, f.createWarnings, created.Warnings, "the engine's warnings, which docker run prints")
	require.Len(t, f.created, 1)
	got := f.created[0]
	assert.Equal(t, "cache", got.Name)
	assert.Equal(t, "redis", got.Config.Image)
	assert.Equal(t, []string{"constraint:model==high-memory"}, got.Config.Env)
	assert.Equal(t, []string{"redis:redis"}, got.HostConfig.Links)
	assert.Equal(t, "secret-token", got.RegistryAuth)
	assert.Equal(t, body, string(got.Body), "the client's bytes, for the engine")
	assert.Equal(t, "1.47", got.APIVersion)
	assert.Equal(t, "linux/amd64", got.Platform)
}

func TestCreateContainerErrors(t *testing.T) {
	tests := []struct {
		name, query, body string
		err               error
		status            int
		want              string
	}{
		{"bad expression", "", `{"Image":"redis"}`, fmt.Errorf("create: %w", &scheduler.ExprError{What: "constraint", Expr: "model=~[", Reason: "bad regexp"}), 400, "bad regexp"},
		{"invalid request", "", `{"Image":"redis"}`, fmt.Errorf("create: %w", ErrInvalid), 400, "invalid request"},
		{"name conflict", "name=redis", `{"Image":"redis"}`, fmt.Errorf(`Conflict. The container name "/redis" is already in use: %w`, ErrNameConflict), 409, "already in use"},
		{"no fit", "", `{"Image":"redis"}`, fmt.Errorf("create: %w", &cluster.NoFitError{Explanation: "Unable to find a node that satisfies the following conditions\n[port 80 (Bridge mode)]"}), 500, "Unable to find a node that satisfies"},
		{"image missing everywhere", "", `{"Image":"ghost:1"}`, fmt.Errorf("create: %w", ErrImageNotFound), 404, `{"message":"No such image: ghost:1"}`},
		{"engine conflict kept", "", `{"Image":"redis"}`, fmt.Errorf("create on backend1: %w", cerrdefs.ErrConflict), 409, "conflict"},
		{"malformed json", "", `{"Image":`, nil, 400, "malformed JSON body"},
		{"empty body", "", ``, nil, 400, "request body is empty"},
		{"no image", "", `{"Env":[]}`, nil, 400, "no image given"},
		{"bad name", "name=a/b", `{"Image":"redis"}`, nil, 400, "invalid container name"},
		{"oversized", "", `{"Image":"redis","Env":["` + strings.Repeat("x", 2<<20) + `"]}`, nil, 413, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := psCluster()
			f.createErr = tt.err
			srv := newServer(t, f)
			code, body := do(t, srv, http.MethodPost, "/containers/create?"+tt.query, tt.body)
			assert.Equal(t, tt.status, code)
			assert.Contains(t, body, tt.want)
			if tt.err == nil {
				assert.Empty(t, f.created, "nothing reaches the cluster")
			}
		})
	}
}

func TestStatusForIsTheOnePlace(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{&AmbiguousError{Ref: "x", Candidates: []string{"a/x", "b/x"}}, 400},
		{fmt.Errorf("wrap: %w", ErrNotFound), 404},
		{fmt.Errorf("wrap: %w", ErrNodeUnavailable), 503},
		{fmt.Errorf("engine: %w", cerrdefs.ErrNotModified), 304},
		{errors.New("boom"), 500},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			assert.Equal(t, tt.want, statusFor(tt.err))
		})
	}
}

func TestRenameAndRemove(t *testing.T) {
	f := psCluster()
	srv := newServer(t, f)
	tests := []struct {
		method, path string
		status       int
		want         string
	}{
		{http.MethodPost, "/v1.41/containers/backend1/redis/rename?name=cache", 204, ""},
		{http.MethodPost, "/containers/redis/rename?name=taken", 409, "name conflict"},
		{http.MethodPost, "/containers/redis/rename", 400, "missing new name"},
		{http.MethodPost, "/containers/redis/rename?name=-bad", 400, "invalid container name"},
		{http.MethodDelete, "/v1.41/containers/backend1/redis?force=1&v=1", 204, ""},
		{http.MethodDelete, "/containers/ghost", 404, "No such container: ghost"},
		{http.MethodDelete, "/containers/redis?link=1", 400, "not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			code, body := do(t, srv, tt.method, tt.path, "")
			assert.Equal(t, tt.status, code, body)
			assert.Contains(t, body, tt.want)
		})
	}
	assert.Equal(t, []string{"backend1/redis->cache", "redis->taken"}, f.renamed)
	assert.Equal(t, []string{"backend1/redis force=true v=true"}, f.removed)
}
