package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func objectCluster(t *testing.T) (*fakeCluster, *recordingEngine, *recordingEngine) {
	f := seedCluster()
	fe, b1 := f.nodes[0], f.nodes[1]
	f.networks = []Network{
		{Node: fe, Summary: network.Summary{ID: "netfe1111", Name: "bridge", Scope: "local", Driver: "bridge"}},
		{Node: b1, Summary: network.Summary{ID: "netb11111", Name: "bridge", Scope: "local", Driver: "bridge"}},
		{Node: b1, Summary: network.Summary{ID: "netb12222", Name: "backnet", Scope: "local", Driver: "bridge"}},
		{Node: fe, Summary: network.Summary{ID: "overlay01", Name: "shared", Scope: "swarm", Driver: "overlay"}},
		{Node: b1, Summary: network.Summary{ID: "overlay01", Name: "shared", Scope: "swarm", Driver: "overlay"}},
	}
	f.volumes = []Volume{
		{Node: b1, Volume: volume.Volume{Name: "pgdata", Driver: "local", Scope: "local"}},
		{Node: fe, Volume: volume.Volume{Name: "certs", Driver: "local", Scope: "local"}},
	}
	reply := func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			writeJSON(w, http.StatusCreated, map[string]string{"Id": "new"})
		case http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			writeJSON(w, http.StatusOK, map[string]string{"Name": "x"})
		}
	}
	ef, eb := &recordingEngine{reply: reply}, &recordingEngine{reply: reply}
	f.addEngine(t, "frontend", ef)
	f.addEngine(t, "backend1", eb)
	return f, ef, eb
}

func TestListNetworksAndVolumes(t *testing.T) {
	f, _, _ := objectCluster(t)
	srv := newServer(t, f)
	code, body := do(t, srv, http.MethodGet, "/networks", "")
	require.Equal(t, http.StatusOK, code)
	var nets []network.Summary
	require.NoError(t, json.Unmarshal([]byte(body), &nets))
	names := []string{}
	for _, n := range nets {
		names = append(names, n.Name)
	}
	assert.Equal(t, []string{"frontend/bridge", "backend1/bridge", "backend1/backnet", "shared"}, names, "local scope under the node, global once")

	code, body = do(t, srv, http.MethodGet, "/networks?filters="+url.QueryEscape(`{"node":{"backend1":true},"name":{"bridge":true}}`), "")
	require.Equal(t, http.StatusOK, code)
	require.NoError(t, json.Unmarshal([]byte(body), &nets))
	require.Len(t, nets, 1)
	assert.Equal(t, "backend1/bridge", nets[0].Name)

	code, body = do(t, srv, http.MethodGet, "/volumes", "")
	require.Equal(t, http.StatusOK, code)
	var vols volume.ListResponse
	require.NoError(t, json.Unmarshal([]byte(body), &vols))
	require.Len(t, vols.Volumes, 2)
	assert.Equal(t, "backend1/pgdata", vols.Volumes[0].Name)

	out, stderr, err := runDocker(t, srv.URL, "network", "ls", "--format", "{{.Name}}")
	require.NoError(t, err, stderr)
	assert.Contains(t, out, "backend1/backnet\n")
}

func TestNetworkVolumeRoutes(t *testing.T) {
	f, ef, eb := objectCluster(t)
	srv := newServer(t, f)
	tests := []struct {
		name, method, path, body string
		status                   int
		engine                   *recordingEngine
		wantPath, wantBody, want string
	}{
		{"create on named node", http.MethodPost, "/networks/create", `{"Name":"backend1/appnet","Driver":"bridge"}`, 201, eb, "/v1.41/networks/create", `{"Name":"appnet","Driver":"bridge"}`, ""},
		{"create placed on least busy", http.MethodPost, "/networks/create", `{"Name":"appnet"}`, 201, ef, "/v1.47/networks/create", `{"Name":"appnet"}`, ""},
		{"inspect by node/name", http.MethodGet, "/networks/backend1/bridge", "", 200, eb, "/v1.41/networks/netb11111", "", ""},
		{"inspect unique name", http.MethodGet, "/networks/backnet", "", 200, eb, "/v1.41/networks/netb12222", "", ""},
		{"ambiguous name", http.MethodGet, "/networks/bridge", "", 400, nil, "", "", "backend1/bridge, frontend/bridge"},
		{"remove", http.MethodDelete, "/networks/backnet", "", 204, eb, "/v1.41/networks/netb12222", "", ""},
		{"connect", http.MethodPost, "/networks/backnet/connect", `{"Container":"redis"}`, 201, eb, "/v1.41/networks/netb12222/connect", `{"Container":"redis"}`, ""},
		{"unknown network", http.MethodGet, "/networks/ghost", "", 404, nil, "", "", "No such network: ghost"},
		{"create without name", http.MethodPost, "/networks/create", `{}`, 400, nil, "", "", "network create needs a"},
		{"create malformed", http.MethodPost, "/networks/create", `{`, 400, nil, "", "", "malformed JSON"},
		{"volume create on node", http.MethodPost, "/volumes/create", `{"Name":"backend1/pg2"}`, 201, eb, "/v1.41/volumes/create", `{"Name":"pg2"}`, ""},
		{"volume anonymous", http.MethodPost, "/volumes/create", ``, 201, ef, "/v1.47/volumes/create", `{}`, ""},
		{"volume inspect", http.MethodGet, "/volumes/pgdata", "", 200, eb, "/v1.41/volumes/pgdata", "", ""},
		{"volume rm node/name", http.MethodDelete, "/volumes/frontend/certs", "", 204, ef, "/v1.47/volumes/certs", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := do(t, srv, tt.method, tt.path, tt.body)
			assert.Equal(t, tt.status, code, body)
			assert.Contains(t, body, tt.want)
			if tt.engine != nil {
				got := tt.engine.last(t)
				assert.Equal(t, tt.wantPath, got.Path)
				if tt.wantBody != "" {
					assert.JSONEq(t, tt.wantBody, got.Body)
				}
			}
		})
	}
	assert.Contains(t, f.refreshes(), "ID-backend1:networks")
	assert.Contains(t, f.refreshes(), "ID-frontend:volumes")
}
