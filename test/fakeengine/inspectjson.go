package fakeengine

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
)

// The members of the SDK shapes the engine never sets, computed once from
// their zero values (see zeroRest).
var (
	hostConfigRest = zeroRest(container.HostConfig{},
		"Binds", "NetworkMode", "PortBindings", "PublishAllPorts", "RestartPolicy", "AutoRemove",
		"Privileged", "LogConfig", "Memory", "NanoCpus", "CpuShares", "Links")
	netSettingsRest = zeroRest(container.NetworkSettings{},
		"SandboxID", "SandboxKey", "Ports", "EndpointID", "Gateway", "IPAddress", "IPPrefixLen",
		"MacAddress", "Networks")
	endpointRest = zeroRest(network.EndpointSettings{},
		"NetworkID", "EndpointID", "Gateway", "IPAddress", "IPPrefixLen", "MacAddress")
)

// appendInspectLocked appends GET /containers/{id}/json for c: the JSON of
// inspectLocked(c), written without reflection. Caller holds e.mu.
func (e *Engine) appendInspectLocked(b []byte, c *ctr) []byte {
	var path string
	args := []string{}
	if len(c.config.Entrypoint) > 0 {
		path, args = c.config.Entrypoint[0], append(slices.Clip(c.config.Entrypoint[1:]), c.config.Cmd...)
	} else if len(c.config.Cmd) > 0 {
		path, args = c.config.Cmd[0], c.config.Cmd[1:]
	}
	dir := "/var/lib/docker/containers/" + c.id + "/"
	b = append(b, '{')
	b = appendField(b, "Id", c.id)
	b = appendTime(append(b, ','), "Created", c.created)
	b = appendField(append(b, ','), "Path", path)
	b = appendStrings(appendKey(append(b, ','), "Args"), args)
	b = append(b, `,"State":{`...)
	b = appendField(b, "Status", string(c.state))
	b = appendBool(append(b, ','), "Running", c.alive())
	b = appendBool(append(b, ','), "Paused", c.state == container.StatePaused)
	b = appendBool(append(b, ','), "Restarting", c.state == container.StateRestarting)
	b = append(b, `,"OOMKilled":false`...)
	b = appendBool(append(b, ','), "Dead", c.state == container.StateDead)
	b = appendInt(append(b, ','), "Pid", int64(c.pid))
	b = appendInt(append(b, ','), "ExitCode", int64(c.exitCode))
	b = appendField(append(b, ','), "Error", c.errMsg)
	b = appendTime(append(b, ','), "StartedAt", c.startedAt)
	b = appendTime(append(b, ','), "FinishedAt", c.finishedAt)
	b = append(b, '}')
	b = appendField(append(b, ','), "Image", c.imageID)
	b = appendField(append(b, ','), "ResolvConfPath", dir+"resolv.conf")
	b = appendField(append(b, ','), "HostnamePath", dir+"hostname")
	b = appendField(append(b, ','), "HostsPath", dir+"hosts")
	b = appendField(append(b, ','), "LogPath", dir+c.id+"-json.log")
	b = appendField(append(b, ','), "Name", "/"+c.name)
	b = appendInt(append(b, ','), "RestartCount", int64(c.restarts))
	b = append(b, `,"Driver":"overlay2","Platform":"linux","MountLabel":"","ProcessLabel":"","AppArmorProfile":"","ExecIDs":null`...)
	b = e.appendHostConfigLocked(appendKey(append(b, ','), "HostConfig"), c)
	b = append(b, `,"GraphDriver":{"Data":{},"Name":"overlay2"}`...)
	b = appendKey(append(b, ','), "Mounts")
	if len(c.host.binds) == 0 {
		b = append(b, '[', ']')
	} else {
		m, _ := json.Marshal(mountsOf(c))
		b = append(b, m...)
	}
	// Config is whatever the client sent (never mutated): reflection is the
	// only faithful way to write all of it, and it is a small struct.
	cfg, _ := json.Marshal(c.config)
	b = append(appendKey(append(b, ','), "Config"), cfg...)
	b = e.appendNetSettingsLocked(appendKey(append(b, ','), "NetworkSettings"), c)
	return append(b, '}')
}

// appendTime appends t as encoding/json would have the RFC 3339 string
// inspectLocked formats (it never needs escaping).
func appendTime(b []byte, k string, t time.Time) []byte {
	b = append(appendKey(b, k), '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendHostConfigLocked mirrors hostConfigLocked.
func (e *Engine) appendHostConfigLocked(b []byte, c *ctr) []byte {
	b = append(b, '{')
	b = appendStrings(appendKey(b, "Binds"), c.host.binds)
	b = appendField(append(b, ','), "NetworkMode", c.host.networkMode)
	b = appendKey(append(b, ','), "PortBindings")
	if c.host.portBindings == nil {
		b = append(b, '{', '}')
	} else {
		b = appendPortMap(b, c.host.portBindings)
	}
	b = appendBool(append(b, ','), "PublishAllPorts", c.host.publishAll)
	policy := c.host.restart.Name
	if policy == "" {
		policy = container.RestartPolicyDisabled
	}
	b = appendField(append(b, `,"RestartPolicy":{`...), "Name", string(policy))
	b = appendInt(append(b, ','), "MaximumRetryCount", int64(c.host.restart.MaximumRetryCount))
	b = append(b, '}')
	b = appendBool(append(b, ','), "AutoRemove", c.host.autoRemove)
	b = appendBool(append(b, ','), "Privileged", c.host.privileged)
	b = append(b, `,"LogConfig":{"Type":"json-file","Config":{}}`...)
	b = appendInt(append(b, ','), "Memory", c.host.memory)
	b = appendInt(append(b, ','), "NanoCpus", c.host.nanoCPUs)
	b = appendInt(append(b, ','), "CpuShares", c.host.cpuShares)
	var links []string
	for _, l := range c.links {
		if t, ok := e.containers[l.target]; ok {
			links = append(links, "/"+t.name+":/"+c.name+"/"+l.alias)
		}
	}
	b = appendStrings(appendKey(append(b, ','), "Links"), links)
	b = append(b, hostConfigRest...)
	return append(b, '}')
}

// appendNetSettingsLocked mirrors the NetworkSettings of inspectLocked.
func (e *Engine) appendNetSettingsLocked(b []byte, c *ctr) []byte {
	eps := e.endpointsLocked(c)
	var primary network.EndpointSettings // the top-level copy of the bridge endpoint
	if len(c.nets) > 0 && e.networks[c.nets[0]].name == "bridge" {
		primary = *eps["bridge"]
	}
	b = append(b, '{')
	if c.alive() {
		b = appendField(b, "SandboxID", c.id)
		b = appendField(append(b, ','), "SandboxKey", "/var/run/docker/netns/"+c.id[:12])
		b = appendPortMap(appendKey(append(b, ','), "Ports"), c.ports)
	} else {
		b = append(b, `"SandboxID":"","SandboxKey":"","Ports":{}`...)
	}
	b = appendEndpointFields(b, &primary)
	b = append(b, `,"Networks":{`...)
	names := make([]string, 0, len(eps))
	for n := range eps {
		names = append(names, n)
	}
	slices.Sort(names)
	for i, n := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendString(b, n), ':', '{')
		b = appendField(b, "NetworkID", eps[n].NetworkID)
		b = appendEndpointFields(b, eps[n])
		b = append(b, endpointRest...)
		b = append(b, '}')
	}
	b = append(b, '}')
	b = append(b, netSettingsRest...)
	return append(b, '}')
}

// appendEndpointFields appends, each after a comma, the endpoint members the
// engine sets that NetworkSettings repeats at its top level.
func appendEndpointFields(b []byte, ep *network.EndpointSettings) []byte {
	b = appendField(append(b, ','), "EndpointID", ep.EndpointID)
	b = appendField(append(b, ','), "Gateway", ep.Gateway)
	b = appendField(append(b, ','), "IPAddress", ep.IPAddress)
	b = appendInt(append(b, ','), "IPPrefixLen", int64(ep.IPPrefixLen))
	return appendField(append(b, ','), "MacAddress", ep.MacAddress)
}
