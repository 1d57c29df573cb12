package fakeengine

import (
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/storage"
	"github.com/docker/go-connections/nat"
)

// inspectLocked builds GET /containers/{id}/json. The result shares nothing
// mutable with the engine except c.config, which is never mutated.
func (e *Engine) inspectLocked(c *ctr) container.InspectResponse {
	cmd := append(append([]string{}, c.config.Entrypoint...), c.config.Cmd...)
	var path string
	args := []string{}
	if len(cmd) > 0 {
		path, args = cmd[0], cmd[1:]
	}
	dir := "/var/lib/docker/containers/" + c.id + "/"
	base := &container.ContainerJSONBase{
		ID:      c.id,
		Created: c.created.Format(time.RFC3339Nano),
		Path:    path,
		Args:    args,
		State: &container.State{
			Status:     c.state,
			Running:    c.alive(),
			Paused:     c.state == container.StatePaused,
			Restarting: c.state == container.StateRestarting,
			Dead:       c.state == container.StateDead,
			Pid:        c.pid,
			ExitCode:   c.exitCode,
			Error:      c.errMsg,
			StartedAt:  c.startedAt.Format(time.RFC3339Nano),
			FinishedAt: c.finishedAt.Format(time.RFC3339Nano),
		},
		Image:          c.imageID,
		ResolvConfPath: dir + "resolv.conf",
		HostnamePath:   dir + "hostname",
		HostsPath:      dir + "hosts",
		LogPath:        dir + c.id + "-json.log",
		Name:           "/" + c.name,
		RestartCount:   c.restarts,
		Driver:         "overlay2",
		Platform:       "linux",
		HostConfig:     e.hostConfigLocked(c),
		GraphDriver:    storage.DriverData{Name: "overlay2", Data: map[string]string{}},
		ExecIDs:        nil,
	}
	ns := &container.NetworkSettings{Networks: e.endpointsLocked(c)}
	ns.Ports = nat.PortMap{}
	if c.alive() {
		ns.SandboxID = c.id
		ns.SandboxKey = "/var/run/docker/netns/" + c.id[:12]
		ns.Ports = clonePortMap(c.ports)
	}
	if len(c.nets) > 0 && e.networks[c.nets[0]].name == "bridge" {
		ep := ns.Networks["bridge"]
		ns.EndpointID, ns.Gateway, ns.IPAddress = ep.EndpointID, ep.Gateway, ep.IPAddress
		ns.IPPrefixLen, ns.MacAddress = ep.IPPrefixLen, ep.MacAddress
	}
	return container.InspectResponse{
		ContainerJSONBase: base,
		Mounts:            mountsOf(c),
		Config:            c.config,
		NetworkSettings:   ns,
	}
}

func (e *Engine) hostConfigLocked(c *ctr) *container.HostConfig {
	hc := &container.HostConfig{
		Binds:           c.host.binds,
		NetworkMode:     container.NetworkMode(c.host.networkMode),
		PortBindings:    clonePortMap(c.host.portBindings),
		PublishAllPorts: c.host.publishAll,
		RestartPolicy:   c.host.restart,
		AutoRemove:      c.host.autoRemove,
		Privileged:      c.host.privileged,
		LogConfig:       container.LogConfig{Type: "json-file", Config: map[string]string{}},
		Resources: container.Resources{
			Memory:    c.host.memory,
			NanoCPUs:  c.host.nanoCPUs,
			CPUShares: c.host.cpuShares,
		},
	}
	if hc.PortBindings == nil {
		hc.PortBindings = nat.PortMap{}
	}
	if hc.RestartPolicy.Name == "" {
		hc.RestartPolicy.Name = container.RestartPolicyDisabled
	}
	for _, l := range c.links {
		if t, ok := e.containers[l.target]; ok {
			hc.Links = append(hc.Links, "/"+t.name+":/"+c.name+"/"+l.alias)
		}
	}
	return hc
}

// mountsOf reports binds: a name is a local volume, a path a bind mount.
func mountsOf(c *ctr) []container.MountPoint {
	out := []container.MountPoint{}
	for _, b := range c.host.binds {
		parts := strings.Split(b, ":")
		if len(parts) < 2 {
			continue
		}
		m := container.MountPoint{Destination: parts[1], RW: !(len(parts) > 2 && strings.Contains(parts[2], "ro"))}
		if strings.HasPrefix(parts[0], "/") {
			m.Type, m.Source = mount.TypeBind, parts[0]
		} else {
			m.Type, m.Name, m.Driver = mount.TypeVolume, parts[0], "local"
			m.Source = "/var/lib/docker/volumes/" + parts[0] + "/_data"
			m.Mode = "z"
		}
		out = append(out, m)
	}
	return out
}

func clonePortMap(m nat.PortMap) nat.PortMap {
	if m == nil {
		return nil
	}
	out := make(nat.PortMap, len(m))
	for p, bs := range m {
		out[p] = append([]nat.PortBinding(nil), bs...)
	}
	return out
}
