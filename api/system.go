package api

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/go-units"
)

// clusterAPIVersion is the highest API version every healthy engine
// speaks, so a client that negotiates down to it can be forwarded
// anywhere. With no healthy engine it is the manager's own maximum.
func clusterAPIVersion(nodes []Node) string {
	v := maxAPIVersion
	for _, n := range nodes {
		if !healthy(n) || n.APIVersion == "" {
			continue
		}
		if compareVersions(n.APIVersion, v) < 0 {
			v = n.APIVersion
		}
	}
	if compareVersions(v, minAPIVersion) < 0 {
		v = minAPIVersion
	}
	return v
}

func (s *Server) ping(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("API-Version", clusterAPIVersion(s.cluster.Nodes()))
	h.Set("OSType", "linux")
	h.Set("Docker-Experimental", "false")
	h.Set("Swarm", string(swarm.LocalNodeStateInactive))
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	if r.Method == http.MethodHead {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("OK"))
}

func (s *Server) getVersion(w http.ResponseWriter, _ *http.Request) {
	v := types.Version{
		Version:       "swarm/" + s.version,
		APIVersion:    clusterAPIVersion(s.cluster.Nodes()),
		MinAPIVersion: minAPIVersion,
		GoVersion:     runtime.Version(),
		Os:            runtime.GOOS,
		Arch:          runtime.GOARCH,
	}
	v.Platform.Name = "swarm"
	v.Components = []types.ComponentVersion{{Name: "Swarm", Version: s.version}}
	writeJSON(w, http.StatusOK, v)
}

// nodeStatus renders the classic per-node block of `docker info`. The
// docker CLI prints every SystemStatus pair as " name: value", so the
// leading spaces and "└" here produce the indentation users know.
func nodeStatus(n Node) [][2]string {
	const p = "  └ "
	labels := make([]string, 0, len(n.Labels))
	for k, v := range n.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	st := [][2]string{
		{" " + n.Name, n.Addr},
		{p + "ID", n.ID},
		{p + "Status", n.State.String()},
		{p + "Containers", fmt.Sprintf("%d (%d Running, %d Paused, %d Stopped)", n.Containers, n.Running, n.Paused, n.Stopped)},
		{p + "Reserved CPUs", strconv.FormatFloat(n.ReservedCPUs, 'f', -1, 64) + " / " + strconv.Itoa(n.NCPU)},
		{p + "Reserved Memory", units.BytesSize(float64(n.ReservedMemory)) + " / " + units.BytesSize(float64(n.Memory))},
		{p + "Labels", strings.Join(labels, ", ")},
	}
	if n.Err != "" {
		st = append(st, [2]string{p + "Error", n.Err})
	}
	updated := "never"
	if !n.UpdatedAt.IsZero() {
		updated = n.UpdatedAt.UTC().Format(time.RFC3339)
	}
	return append(st,
		[2]string{p + "UpdatedAt", updated},
		[2]string{p + "ServerVersion", n.ServerVersion})
}

func (s *Server) getInfo(w http.ResponseWriter, _ *http.Request) {
	// One call: Info carries the nodes. Asking Nodes as well made the
	// cluster build every node's view twice.
	ci := s.cluster.Info()
	nodes := ci.Nodes
	info := system.Info{
		ServerVersion:   "swarm/" + s.version,
		OSType:          runtime.GOOS,
		Architecture:    runtime.GOARCH,
		OperatingSystem: "swarm",
		Swarm:           swarm.Info{LocalNodeState: swarm.LocalNodeStateInactive},
		SystemTime:      time.Now().Format(time.RFC3339Nano),
	}
	info.Name, _ = os.Hostname()
	info.SystemStatus = [][2]string{
		{"Role", "primary"},
		{"Strategy", ci.Strategy},
		{"Filters", strings.Join(ci.Filters, ", ")},
		{"Nodes", strconv.Itoa(len(nodes))},
	}
	for _, n := range nodes {
		info.Containers += n.Containers
		info.ContainersRunning += n.Running
		info.ContainersPaused += n.Paused
		info.ContainersStopped += n.Stopped
		info.NCPU += n.NCPU
		info.MemTotal += n.Memory
		info.SystemStatus = append(info.SystemStatus, nodeStatus(n)...)
	}
	ids := map[string]bool{}
	for _, im := range s.cluster.Images() {
		ids[im.Summary.ID] = true
	}
	info.Images = len(ids)
	writeJSON(w, http.StatusOK, info)
}
