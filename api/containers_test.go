package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// psCluster is the seed walkthrough after its containers were started,
// plus a stopped container and one on a node that went down.
func psCluster() *fakeCluster {
	f := seedCluster()
	fe, b1, b2 := f.nodes[0], f.nodes[1], f.nodes[2]
	mk := func(n Node, id, name string, created int64, state string, labels map[string]string, ports ...container.Port) Container {
		return Container{Node: n, Summary: container.Summary{
			ID: id + strings.Repeat("0", 64-len(id)), Names: []string{"/" + name}, Image: "img-" + name,
			Command: "/run", Created: created, State: state, Status: state, Labels: labels, Ports: ports}}
	}
	redis := mk(b1, "ffa41d90f414", "redis", 10, "running", map[string]string{"tier": "db"}, container.Port{PrivatePort: 6379, Type: "tcp"})
	redis.Summary.Names = append(redis.Summary.Names, "/redis-counter/redis")
	redis.Summary.Status = "Up 2 hours (healthy)"
	redis.Summary.NetworkSettings = &container.NetworkSettingsSummary{Networks: map[string]*network.EndpointSettings{"backnet": {NetworkID: "netb12222"}}}
	redis.Summary.Mounts = []container.MountPoint{{Name: "redisdata", Destination: "/data"}}
	old := mk(fe, "0ld0ld0ld0ld", "old", 5, "exited", nil)
	old.Summary.Status = "Exited (137) 3 days ago"
	f.containers = []Container{
		redis,
		mk(b1, "cff69b6f970d", "redis-counter", 20, "running", nil,
			container.Port{IP: "0.0.0.0", PrivatePort: 80, PublicPort: 32768, Type: "tcp"},
			container.Port{IP: "::", PrivatePort: 80, PublicPort: 32768, Type: "tcp"}),
		mk(fe, "64af31135c26", "nginx", 30, "running", nil,
			container.Port{IP: "0.0.0.0", PrivatePort: 80, PublicPort: 80, Type: "tcp"},
			container.Port{IP: "127.0.0.1", PrivatePort: 443, PublicPort: 8443, Type: "tcp"}),
		old,
		mk(b2, "aa1679b3da5c", "postgres", 15, "running", nil, container.Port{PrivatePort: 5432, Type: "tcp"}),
	}
	return f
}

func listNames(t *testing.T, srv string, f func(method, path, body string) (int, string), query string) []string {
	t.Helper()
	code, body := f(http.MethodGet, "/v1.41/containers/json?"+query, "")
	require.Equal(t, http.StatusOK, code, body)
	var got []container.Summary
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	names := []string{}
	for _, c := range got {
		names = append(names, c.Names[0])
	}
	return names
}

func TestListContainers(t *testing.T) {
	srv := newServer(t, psCluster())
	call := func(m, p, b string) (int, string) { return do(t, srv, m, p, b) }
	filter := func(k, v string) string { return "filters=" + url.QueryEscape(`{"`+k+`":{"`+v+`":true}}`) }
	tests := []struct {
		name, query string
		want        []string
	}{
		{"running on healthy nodes, newest first", "", []string{"/frontend/nginx", "/backend1/redis-counter", "/backend1/redis"}},
		{"all shows stopped and host down", "all=1", []string{"/frontend/nginx", "/backend1/redis-counter", "/backend2/postgres", "/backend1/redis", "/frontend/old"}},
		{"node filter", filter("node", "backend1"), []string{"/backend1/redis-counter", "/backend1/redis"}},
		{"node filter by id", filter("node", "ID-frontend"), []string{"/frontend/nginx"}},
		{"name filter", filter("name", "redis"), []string{"/backend1/redis-counter", "/backend1/redis"}},
		{"name filter node/name", filter("name", "^backend1/redis$"), []string{"/backend1/redis"}},
		{"label filter", filter("label", "tier=db"), []string{"/backend1/redis"}},
		{"status filter implies all", filter("status", "exited"), []string{"/frontend/old"}},
		{"id filter", filter("id", "cff69b"), []string{"/backend1/redis-counter"}},
		{"limit implies all", "limit=2", []string{"/frontend/nginx", "/backend1/redis-counter"}},
		{"before", "all=1&" + filter("before", "redis-counter"), []string{"/backend2/postgres", "/backend1/redis", "/frontend/old"}},
		{"exited implies all", filter("exited", "137"), []string{"/frontend/old"}},
		{"exited other code", filter("exited", "0"), []string{}},
		{"health", filter("health", "healthy"), []string{"/backend1/redis"}},
		{"health none", filter("health", "none"), []string{"/frontend/nginx", "/backend1/redis-counter"}},
		{"network", filter("network", "backnet"), []string{"/backend1/redis"}},
		{"volume", filter("volume", "redisdata"), []string{"/backend1/redis"}},
		{"since", "all=1&" + filter("since", "redis"), []string{"/frontend/nginx", "/backend1/redis-counter", "/backend2/postgres"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, listNames(t, srv.URL, call, tt.query))
		})
	}
}

func TestListContainersRewritesForCluster(t *testing.T) {
	srv := newServer(t, psCluster())
	code, body := do(t, srv, http.MethodGet, "/containers/json?all=1", "")
	require.Equal(t, http.StatusOK, code)
	var got []container.Summary
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	byName := map[string]container.Summary{}
	for _, c := range got {
		byName[c.Names[0]] = c
	}
	assert.Equal(t, []string{"/backend1/redis", "/backend1/redis-counter/redis"}, byName["/backend1/redis"].Names)
	assert.Equal(t, []container.Port{{IP: "192.168.99.103", PrivatePort: 80, PublicPort: 32768, Type: "tcp"}},
		byName["/backend1/redis-counter"].Ports, "all-interface bindings shown once, on the node IP")
	assert.Contains(t, byName["/frontend/nginx"].Ports, container.Port{IP: "127.0.0.1", PrivatePort: 443, PublicPort: 8443, Type: "tcp"},
		"a specific host IP is kept")
	assert.Equal(t, hostDown, byName["/backend2/postgres"].Status)
}

func TestListContainersBadInput(t *testing.T) {
	srv := newServer(t, psCluster())
	tests := []struct{ query, want string }{
		{"filters=" + url.QueryEscape(`{"colour":{"red":true}}`), "invalid filter 'colour'"},
		{"filters=" + url.QueryEscape(`{"status":{"sleepy":true}}`), "invalid filter 'status=sleepy'"},
		{"filters=notjson", "invalid filters parameter"},
		{"limit=ten", "invalid limit"},
		{"filters=" + url.QueryEscape(`{"before":{"ghost":true}}`), "No such container: ghost"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			code, body := do(t, srv, http.MethodGet, "/containers/json?"+tt.query, "")
			assert.Contains(t, []int{http.StatusBadRequest, http.StatusNotFound}, code)
			assert.Contains(t, body, tt.want)
		})
	}
}

func TestDockerCLIPs(t *testing.T) {
	srv := newServer(t, psCluster())
	out, stderr, err := runDocker(t, srv.URL, "ps", "--no-trunc", "--format", "{{.Names}}|{{.Ports}}|{{.Status}}")
	require.NoError(t, err, stderr)
	assert.Contains(t, out, "backend1/redis,backend1/redis-counter/redis|6379/tcp|Up 2 hours (healthy)\n")
	assert.Contains(t, out, "backend1/redis-counter|192.168.99.103:32768->80/tcp|running\n")
	assert.NotContains(t, out, "postgres", "host down hidden without -a")
	out, stderr, err = runDocker(t, srv.URL, "ps", "-a", "--filter", "node=backend2", "--format", "{{.Names}} {{.Status}}")
	require.NoError(t, err, stderr)
	assert.Equal(t, "backend2/postgres Host Down\n", out)
	out, _, err = runDocker(t, srv.URL, "ps")
	require.NoError(t, err)
	assert.Contains(t, out, "CONTAINER ID")
	assert.Contains(t, out, "ffa41d90f414")
}

// inspectEngine answers container inspect like an engine.
func inspectEngine(id, name string) *recordingEngine {
	return &recordingEngine{reply: func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/containers/"+id+"/json") {
			writeErrorStatus(w, http.StatusNotFound, "No such container: "+r.URL.Path)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"Id": id, "Name": "/" + name, "State": map[string]any{"Status": "running", "Running": true},
			"Config": map[string]any{"Image": "redis", "Env": []string{"A=1"}}})
	}}
}

func TestInspectContainerAddsNode(t *testing.T) {
	f := psCluster()
	id := f.containers[0].Summary.ID
	eng := inspectEngine(id, "redis")
	f.addEngine(t, "backend1", eng)
	srv := newServer(t, f)
	for _, ref := range []string{"redis", "/redis", "backend1/redis", id, id[:12]} {
		t.Run(ref, func(t *testing.T) {
			code, body := do(t, srv, http.MethodGet, "/v1.47/containers/"+ref+"/json", "")
			require.Equal(t, http.StatusOK, code, body)
			var got struct {
				ID   string `json:"Id"`
				Node nodeJSON
			}
			require.NoError(t, json.Unmarshal([]byte(body), &got))
			assert.Equal(t, id, got.ID)
			assert.Equal(t, "backend1", got.Node.Name)
			assert.Equal(t, "192.168.99.103", got.Node.IP)
			assert.Equal(t, "192.168.99.103:2376", got.Node.Addr)
			assert.Equal(t, 2, got.Node.Cpus)
			assert.Equal(t, "high-memory", got.Node.Labels["model"])
			assert.Equal(t, "/v1.41/containers/"+id+"/json", eng.last(t).Path, "forwarded by ID at the engine's version")
		})
	}
	out, stderr, err := runDocker(t, srv.URL, "inspect", "-f", "{{.Node.Name}} {{.Node.IP}} {{.Name}}", "backend1/redis")
	require.NoError(t, err, stderr)
	assert.Equal(t, "backend1 192.168.99.103 /redis\n", out)
}

func TestInspectContainerErrors(t *testing.T) {
	f := psCluster()
	other := f.containers[1]
	other.Summary.ID = "e" + other.Summary.ID[1:]
	other.Node = f.nodes[0]
	other.Summary.Names = []string{"/redis"}
	f.containers = append(f.containers, other)
	srv := newServer(t, f)
	tests := []struct {
		ref    string
		status int
		want   string
	}{
		{"ghost", http.StatusNotFound, "No such container: ghost"},
		{"redis", http.StatusBadRequest, "backend1/redis"},
		{"postgres", http.StatusServiceUnavailable, "node backend2 (192.168.99.104:2376) is Unhealthy: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			code, body := do(t, srv, http.MethodGet, "/containers/"+tt.ref+"/json", "")
			assert.Equal(t, tt.status, code)
			assert.Contains(t, body, tt.want)
		})
	}
	_, stderr, err := runDocker(t, srv.URL, "inspect", "--type", "container", "ghost")
	require.Error(t, err)
	assert.Contains(t, stderr, "No such container: ghost")
}

func TestPortsOnNode(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			name: "wildcards on the node, v4 and v6 collapse",
			in:   `{"IPAddress":"172.17.0.2","Ports":{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"32768"},{"HostIp":"::","HostPort":"32768"}],"443/tcp":null}}`,
			want: `{"IPAddress":"172.17.0.2","Ports":{"443/tcp":null,"80/tcp":[{"HostIp":"10.77.0.13","HostPort":"32768"}]}}`,
		},
		{
			name: "a specific address stays",
			in:   `{"Ports":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"},{"HostIp":"","HostPort":"8081"}]}}`,
			want: `{"Ports":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"},{"HostIp":"10.77.0.13","HostPort":"8081"}]}}`,
		},
		{name: "no ports", in: `{"IPAddress":"172.17.0.2"}`, want: `{"IPAddress":"172.17.0.2"}`},
		{name: "null ports", in: `{"Ports":null}`, want: `{"Ports":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := portsOnNode(json.RawMessage(tt.in), "10.77.0.13")
			require.NoError(t, err)
			assert.JSONEq(t, tt.want, string(got))
		})
	}
}
