package fakeengine

import (
	"net/http"
	"runtime"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
)

const (
	kernelVersion   = "6.1.0-28-amd64"
	operatingSystem = "Debian GNU/Linux 12 (bookworm)"
	storageDriver   = "overlay2"
)

// ping serves GET and HEAD /_ping with the headers version negotiation reads.
func (e *Engine) ping(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("Docker-Experimental", "false")
	h.Set("Builder-Version", "2")
	if r.Method == http.MethodHead {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Length", "0")
		return
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("OK"))
}

func (e *Engine) version(w http.ResponseWriter, _ *http.Request) {
	v := types.Version{
		Version:       e.serverVersion,
		APIVersion:    e.maxVersion,
		MinAPIVersion: MinAPIVersion,
		GitCommit:     "fakeeng",
		GoVersion:     runtime.Version(),
		Os:            "linux",
		Arch:          runtime.GOARCH,
		KernelVersion: kernelVersion,
		BuildTime:     "2024-01-01T00:00:00.000000000+00:00",
		Components: []types.ComponentVersion{{
			Name:    "Engine",
			Version: e.serverVersion,
			Details: map[string]string{
				"ApiVersion": e.maxVersion, "MinAPIVersion": MinAPIVersion, "GitCommit": "fakeeng", "GoVersion": runtime.Version(),
				"Os": "linux", "Arch": runtime.GOARCH, "KernelVersion": kernelVersion, "BuildTime": "2024-01-01T00:00:00.000000000+00:00", "Experimental": "false",
			},
		}},
	}
	v.Platform.Name = "Docker Engine - Community (fake)"
	writeJSON(w, http.StatusOK, v)
}

func (e *Engine) info(w http.ResponseWriter, _ *http.Request) {
	e.mu.Lock()
	info := system.Info{
		ID:                 e.id,
		Name:               e.name,
		Labels:             labelList(e.labels),
		Containers:         len(e.containers),
		Images:             len(e.images),
		NCPU:               e.ncpu,
		MemTotal:           e.memTotal,
		NEventsListener:    len(e.streams),
		Driver:             storageDriver,
		DriverStatus:       [][2]string{{"Backing Filesystem", "extfs"}},
		KernelVersion:      kernelVersion,
		OperatingSystem:    operatingSystem,
		OSVersion:          "12",
		OSType:             "linux",
		Architecture:       "x86_64",
		ServerVersion:      e.serverVersion,
		IndexServerAddress: "https://index.docker.io/v1/",
		RegistryConfig:     &registry.ServiceConfig{IndexConfigs: map[string]*registry.IndexInfo{}},
		DockerRootDir:      "/var/lib/docker",
		LoggingDriver:      "json-file",
		CgroupDriver:       "systemd",
		CgroupVersion:      "2",
		DefaultRuntime:     "runc",
		Runtimes:           map[string]system.RuntimeWithStatus{"runc": {Runtime: system.Runtime{Path: "runc"}}},
		Swarm:              swarm.Info{LocalNodeState: swarm.LocalNodeStateInactive},
		Isolation:          container.IsolationDefault,
		SystemTime:         time.Now().Format(time.RFC3339Nano),
		MemoryLimit:        true,
		SwapLimit:          true,
		CPUCfsPeriod:       true,
		CPUCfsQuota:        true,
		CPUShares:          true,
		CPUSet:             true,
		PidsLimit:          true,
		IPv4Forwarding:     true,
		SecurityOptions:    []string{"name=seccomp,profile=builtin", "name=cgroupns"},
		Warnings:           []string{},
	}
	info.Plugins.Volume = []string{"local"}
	info.Plugins.Network = []string{"bridge", "host", "ipvlan", "macvlan", "null", "overlay"}
	info.Plugins.Log = []string{"json-file", "local"}
	for _, c := range e.containers {
		switch c.state {
		case container.StateRunning:
			info.ContainersRunning++
		case container.StatePaused:
			info.ContainersPaused++
		default:
			info.ContainersStopped++
		}
	}
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, info)
}
