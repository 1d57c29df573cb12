package fakeengine

import (
	"unicode/utf8"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
)

// decodeCreateFast parses a create body the way encoding/json would decode it
// into createRequest, without reflection: the body is about 1.6 KB of mostly
// zero HostConfig members the engine skips, and encoding/json's reflective
// walk of it was the simulator's largest cost per container.
//
// It is a fast path, not a second decoder: it handles the JSON clients
// actually send (the SDK's and the CLI's) and gives up (ok false) on anything
// where it would have to reproduce encoding/json's subtler rules: escapes,
// keys that only match a field case-insensitively, duplicate members, nulls
// inside collections, numbers that are not plain integers, a Healthcheck,
// a string Cmd, trailing data. The caller then decodes with encoding/json,
// so every answer, error messages included, stays encoding/json's. The fuzz
// test FuzzDecodeCreateFast holds it to exactly that.
func decodeCreateFast(b []byte) (req *createRequest, ok bool) {
	p := jsonParser{b: b}
	req = &createRequest{}
	var seen uint64
	ok = p.object(func(key []byte) bool {
		id, exact := lookupField(topFields, key)
		if id < 0 {
			return exact && p.skip(0) // unknown member: ignored, as encoding/json does
		}
		if !exact || seen&(1<<id) != 0 {
			return false
		}
		seen |= 1 << id
		if id == fieldHostConfig {
			return p.hostConfig(req)
		}
		if req.Config == nil {
			req.Config = &container.Config{} // any Config member allocates it, null too
		}
		return p.configField(req.Config, id)
	})
	p.ws()
	return req, ok && p.i == len(p.b)
}

// The members of the top-level object, in container.Config's order.
const (
	fieldHostname = iota
	fieldDomainname
	fieldUser
	fieldAttachStdin
	fieldAttachStdout
	fieldAttachStderr
	fieldExposedPorts
	fieldTty
	fieldOpenStdin
	fieldStdinOnce
	fieldEnv
	fieldCmd
	fieldHealthcheck
	fieldArgsEscaped
	fieldImage
	fieldVolumes
	fieldWorkingDir
	fieldEntrypoint
	fieldNetworkDisabled
	fieldMacAddress
	fieldOnBuild
	fieldLabels
	fieldStopSignal
	fieldStopTimeout
	fieldShell
	fieldHostConfig
)

var topFields = foldIndex("Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr",
	"ExposedPorts", "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd", "Healthcheck", "ArgsEscaped", "Image",
	"Volumes", "WorkingDir", "Entrypoint", "NetworkDisabled", "MacAddress", "OnBuild", "Labels",
	"StopSignal", "StopTimeout", "Shell", "HostConfig")

// The hostSpec members, in its order.
var hostFields = foldIndex("NetworkMode", "PortBindings", "PublishAllPorts", "Binds", "Links",
	"RestartPolicy", "AutoRemove", "Privileged", "Memory", "NanoCpus", "CpuShares")

var restartFields = foldIndex("Name", "MaximumRetryCount")

var bindingFields = foldIndex("HostIp", "HostPort")

// fieldIndex maps a member name, ASCII-lowercased, to its number and exact name.
type fieldIndex struct {
	byFold map[string]int
	names  []string
}

func foldIndex(names ...string) fieldIndex {
	fi := fieldIndex{byFold: make(map[string]int, len(names)), names: names}
	for i, n := range names {
		fi.byFold[lower(n)] = i
	}
	return fi
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// lookupField returns the member key names (-1 for none) and whether the
// fast path may go on: false for a key that would match only through
// encoding/json's case folding, or that it cannot fold safely (non-ASCII,
// which encoding/json folds with Unicode rules, or very long).
func lookupField(fi fieldIndex, key []byte) (id int, exact bool) {
	var buf [64]byte
	if len(key) > len(buf) {
		return -1, false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c >= utf8.RuneSelf {
			return -1, false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	id, found := fi.byFold[string(buf[:len(key)])]
	if !found {
		return -1, true
	}
	return id, fi.names[id] == string(key)
}

func (p *jsonParser) configField(c *container.Config, id int) bool {
	switch id {
	case fieldHostname:
		return p.stringInto(&c.Hostname)
	case fieldDomainname:
		return p.stringInto(&c.Domainname)
	case fieldUser:
		return p.stringInto(&c.User)
	case fieldAttachStdin:
		return p.boolInto(&c.AttachStdin)
	case fieldAttachStdout:
		return p.boolInto(&c.AttachStdout)
	case fieldAttachStderr:
		return p.boolInto(&c.AttachStderr)
	case fieldExposedPorts:
		return p.portSet(&c.ExposedPorts)
	case fieldTty:
		return p.boolInto(&c.Tty)
	case fieldOpenStdin:
		return p.boolInto(&c.OpenStdin)
	case fieldStdinOnce:
		return p.boolInto(&c.StdinOnce)
	case fieldEnv:
		return p.stringsInto(&c.Env)
	case fieldCmd:
		return p.stringsInto((*[]string)(&c.Cmd))
	case fieldHealthcheck:
		return p.null()
	case fieldArgsEscaped:
		return p.boolInto(&c.ArgsEscaped)
	case fieldImage:
		return p.stringInto(&c.Image)
	case fieldVolumes:
		return p.volumes(&c.Volumes)
	case fieldWorkingDir:
		return p.stringInto(&c.WorkingDir)
	case fieldEntrypoint:
		return p.stringsInto((*[]string)(&c.Entrypoint))
	case fieldNetworkDisabled:
		return p.boolInto(&c.NetworkDisabled)
	case fieldMacAddress:
		return p.stringInto(&c.MacAddress) //nolint:staticcheck // the SDK still sends and reports it
	case fieldOnBuild:
		return p.stringsInto(&c.OnBuild)
	case fieldLabels:
		return p.stringMap(&c.Labels)
	case fieldStopSignal:
		return p.stringInto(&c.StopSignal)
	case fieldStopTimeout:
		return p.stopTimeout(&c.StopTimeout)
	case fieldShell:
		return p.stringsInto((*[]string)(&c.Shell))
	}
	return false
}

func (p *jsonParser) hostConfig(req *createRequest) bool {
	if p.null() {
		return true
	}
	hc := &hostSpec{}
	req.HostConfig = hc
	var seen uint64
	return p.object(func(key []byte) bool {
		id, exact := lookupField(hostFields, key)
		if id < 0 {
			return exact && p.skip(0)
		}
		if !exact || seen&(1<<id) != 0 {
			return false
		}
		seen |= 1 << id
		switch hostFields.names[id] {
		case "NetworkMode":
			return p.stringInto(&hc.NetworkMode)
		case "PortBindings":
			return p.portMap(&hc.PortBindings)
		case "PublishAllPorts":
			return p.boolInto(&hc.PublishAllPorts)
		case "Binds":
			return p.stringsInto(&hc.Binds)
		case "Links":
			return p.stringsInto(&hc.Links)
		case "RestartPolicy":
			return p.restartPolicy(&hc.RestartPolicy)
		case "AutoRemove":
			return p.boolInto(&hc.AutoRemove)
		case "Privileged":
			return p.boolInto(&hc.Privileged)
		case "Memory":
			return p.int64Into(&hc.Memory)
		case "NanoCpus":
			return p.int64Into(&hc.NanoCPUs)
		case "CpuShares":
			return p.int64Into(&hc.CPUShares)
		}
		return false
	})
}

func (p *jsonParser) restartPolicy(rp *container.RestartPolicy) bool {
	if p.null() {
		return true
	}
	var seen uint64
	return p.object(func(key []byte) bool {
		id, exact := lookupField(restartFields, key)
		if id < 0 {
			return exact && p.skip(0)
		}
		if !exact || seen&(1<<id) != 0 {
			return false
		}
		seen |= 1 << id
		if id == 0 {
			return p.stringInto((*string)(&rp.Name))
		}
		var n int64
		if !p.int64Into(&n) {
			return false
		}
		rp.MaximumRetryCount = int(n)
		return true
	})
}

// portMap parses PortBindings: a port with null keeps a nil list, as
// encoding/json stores a null map element.
func (p *jsonParser) portMap(dst *nat.PortMap) bool {
	if p.null() {
		*dst = nil
		return true
	}
	m := nat.PortMap{}
	*dst = m
	return p.object(func(key []byte) bool {
		if p.null() {
			m[nat.Port(key)] = nil
			return true
		}
		bindings := []nat.PortBinding{}
		ok := p.array(func() bool {
			var b nat.PortBinding
			if p.null() {
				return false // a null element would be a zero binding; leave it to encoding/json
			}
			var seen uint64
			ok := p.object(func(key []byte) bool {
				id, exact := lookupField(bindingFields, key)
				if id < 0 {
					return exact && p.skip(0)
				}
				if !exact || seen&(1<<id) != 0 {
					return false
				}
				seen |= 1 << id
				if id == 0 {
					return p.stringInto(&b.HostIP)
				}
				return p.stringInto(&b.HostPort)
			})
			bindings = append(bindings, b)
			return ok
		})
		m[nat.Port(key)] = bindings
		return ok
	})
}

func (p *jsonParser) stopTimeout(dst **int) bool {
	if p.null() {
		*dst = nil
		return true
	}
	var n int64
	if !p.int64Into(&n) {
		return false
	}
	v := int(n)
	*dst = &v
	return true
}
