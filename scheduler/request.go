package scheduler

import (
	"cmp"
	"encoding/json"
	"errors"
	"slices"
	"strings"
)

// Labels that keep a container's placement expressions, so that
// `docker inspect` shows what placed it. Values are JSON arrays of
// strings.
const (
	LabelConstraints = "com.docker.swarm.constraints"
	LabelAffinities  = "com.docker.swarm.affinities"
)

// exprLabels pairs each expression label with the kind it holds.
var exprLabels = []struct {
	kind  Kind
	label string
}{{KindConstraint, LabelConstraints}, {KindAffinity, LabelAffinities}}

// Environment prefixes that carry placement expressions.
const (
	envConstraint = "constraint:"
	envAffinity   = "affinity:"
	envWhitelist  = "whitelist:"
)

// Query is a Request parsed for placement. Filters read it; it is
// immutable once ParseRequest returns it and safe for concurrent use.
type Query struct {
	// Constraints, Affinities and Whitelist hold the hard expressions.
	Constraints []*Expr
	Affinities  []*Expr
	Whitelist   []*Expr
	// Soft holds the soft expressions of every kind, in request order.
	Soft []*Expr
	// Ports are the fixed host ports claimed in bridge (non-host) mode.
	Ports []Port
	// HostPorts are the ports a host-mode container will listen on.
	HostPorts []Port
	// Dependencies are the containers the request must sit next to.
	Dependencies []Dependency
	// NanoCPUs and Memory are the resources the request reserves.
	NanoCPUs int64
	Memory   int64
}

// Dependency is a container the request needs on the same node.
type Dependency struct {
	// Ref names the container: name, ID or ID prefix.
	Ref string
	// Condition is how the user asked for it ("volumes-from=db",
	// "link=redis", "net=container:x", "pid=container:x", "ipc=container:x").
	Condition string
}

// Reservation returns the resources the request reserves: --cpus
// (NanoCPUs) or else --cpu-shares read as whole CPUs (classic Swarm's
// convention), and -m in bytes. The cluster uses the same numbers for the
// in-flight container it records.
func (r *Request) Reservation() (nanoCPUs, memory int64) {
	nanoCPUs = r.NanoCPUs
	if nanoCPUs <= 0 && r.CPUShares > 0 {
		nanoCPUs = r.CPUShares * 1e9
	}
	if nanoCPUs < 0 {
		nanoCPUs = 0
	}
	memory = r.Memory
	if memory < 0 {
		memory = 0
	}
	return nanoCPUs, memory
}

// ParseRequest reads a request's expressions (environment and labels),
// port claims, dependencies and reservation. A user error comes back as
// an *ExprError.
func ParseRequest(r *Request) (*Query, error) {
	q := &Query{}
	q.NanoCPUs, q.Memory = r.Reservation()
	type source struct {
		kind Kind
		text string
	}
	var seen []source // requests carry a handful of expressions
	add := func(kind Kind, text string) error {
		if slices.Contains(seen, source{kind, text}) {
			return nil
		}
		seen = append(seen, source{kind, text})
		e, err := ParseExpr(kind, text)
		if err != nil {
			return err
		}
		switch {
		case e.Soft:
			q.Soft = append(q.Soft, e)
		case kind == KindConstraint:
			q.Constraints = append(q.Constraints, e)
		case kind == KindAffinity:
			q.Affinities = append(q.Affinities, e)
		default:
			q.Whitelist = append(q.Whitelist, e)
		}
		return nil
	}
	for _, src := range exprLabels {
		list, err := labelExprs(r.Labels, src.label)
		if err != nil {
			return nil, err
		}
		for _, text := range list {
			if err := add(src.kind, text); err != nil {
				return nil, err
			}
		}
	}
	for _, env := range r.Env {
		kind, text, ok := envExpr(env)
		if !ok {
			continue
		}
		if err := add(kind, text); err != nil {
			return nil, err
		}
	}
	var err error
	if q.Ports, q.HostPorts, err = requestPorts(r); err != nil {
		return nil, err
	}
	if q.Dependencies, err = requestDependencies(r); err != nil {
		return nil, err
	}
	return q, nil
}

// envExpr recognizes "constraint:…", "affinity:…" and "whitelist:…".
func envExpr(env string) (Kind, string, bool) {
	switch {
	case strings.HasPrefix(env, envConstraint):
		return KindConstraint, env[len(envConstraint):], true
	case strings.HasPrefix(env, envAffinity):
		return KindAffinity, env[len(envAffinity):], true
	case strings.HasPrefix(env, envWhitelist):
		return KindWhitelist, env[len(envWhitelist):], true
	}
	return 0, "", false
}

// labelExprs decodes one of the expression labels.
func labelExprs(labels map[string]string, name string) ([]string, error) {
	raw, ok := labels[name]
	if !ok || strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		return nil, &ExprError{What: "label " + name, Expr: raw,
			Reason: `must be a JSON array of strings, e.g. ["model==gpu"]: ` + err.Error()}
	}
	return list, nil
}

// MoveExpressions moves the constraint: and affinity: entries of a
// container's environment into the labels com.docker.swarm.constraints
// and com.docker.swarm.affinities, merged after what those labels already
// hold, so the engine never sees them and `docker inspect` shows them.
// whitelist: entries stay in the environment. Every expression is
// validated; a user error comes back as an *ExprError. The inputs are not
// modified; the returned map is a copy when anything moved.
func MoveExpressions(env []string, labels map[string]string) ([]string, map[string]string, error) {
	moved := map[Kind][]string{}
	outEnv := make([]string, 0, len(env))
	for _, e := range env {
		kind, text, ok := envExpr(e)
		if ok {
			if _, err := ParseExpr(kind, text); err != nil {
				return nil, nil, err
			}
		}
		if !ok || kind == KindWhitelist {
			outEnv = append(outEnv, e)
			continue
		}
		moved[kind] = append(moved[kind], text)
	}
	var out map[string]string
	for _, src := range exprLabels {
		existing, err := labelExprs(labels, src.label)
		if err != nil {
			return nil, nil, err
		}
		for _, text := range existing {
			if _, err := ParseExpr(src.kind, text); err != nil {
				return nil, nil, err
			}
		}
		if len(moved[src.kind]) == 0 {
			continue
		}
		merged := appendNew(existing, moved[src.kind])
		raw, err := json.Marshal(merged)
		if err != nil {
			return nil, nil, err // cannot happen for []string
		}
		if out == nil {
			out = make(map[string]string, len(labels)+2)
			for k, v := range labels {
				out[k] = v
			}
		}
		out[src.label] = string(raw)
	}
	if out == nil {
		out = labels
	}
	return outEnv, out, nil
}

// appendNew appends the entries of add not already in list.
func appendNew(list, add []string) []string {
	out := append([]string{}, list...)
	for _, a := range add {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// defaultBridge reports whether a network mode is the default bridge,
// where links pin placement.
func defaultBridge(mode string) bool {
	return mode == "" || mode == "default" || mode == "bridge"
}

// requestDependencies lists the containers the request must join.
func requestDependencies(r *Request) ([]Dependency, error) {
	var deps []Dependency
	addRef := func(what, ref, cond string) error {
		ref = strings.TrimPrefix(ref, "/")
		if ref == "" {
			return &ExprError{What: what, Expr: cond, Reason: "missing container name or ID"}
		}
		if d := (Dependency{Ref: ref, Condition: cond}); !slices.Contains(deps, d) {
			deps = append(deps, d)
		}
		return nil
	}
	for _, v := range r.VolumesFrom {
		name, _, _ := strings.Cut(v, ":")
		if err := addRef("volumes-from", name, "volumes-from="+strings.TrimPrefix(name, "/")); err != nil {
			return nil, err
		}
	}
	if defaultBridge(r.NetworkMode) {
		for _, l := range r.Links {
			name, _, _ := strings.Cut(l, ":")
			if err := addRef("link", name, "link="+strings.TrimPrefix(name, "/")); err != nil {
				return nil, err
			}
		}
	}
	for _, m := range []struct{ what, mode string }{
		{"net", r.NetworkMode}, {"pid", r.PidMode}, {"ipc", r.IpcMode},
	} {
		if ref, ok := strings.CutPrefix(m.mode, "container:"); ok {
			if err := addRef(m.what, ref, m.what+"=container:"+ref); err != nil {
				return nil, err
			}
		}
	}
	return deps, nil
}

// requestPorts lists the port claims: fixed host ports in bridge mode,
// exposed and bound container ports in host mode.
func requestPorts(r *Request) (bridge, host []Port, err error) {
	if r.NetworkMode == "host" {
		keys := append([]string{}, r.ExposedPorts...)
		for k := range r.PortBindings {
			keys = append(keys, k)
		}
		for _, k := range keys {
			p, err := ParsePort(k)
			if err != nil {
				return nil, nil, err
			}
			host = appendPort(host, p)
		}
		sortPorts(host)
		return nil, host, nil
	}
	for k, bindings := range r.PortBindings {
		key, err := ParsePort(k)
		if err != nil {
			return nil, nil, err
		}
		for _, b := range bindings {
			p, fixed, err := bindingPort(k, key.Proto, b)
			if err != nil {
				return nil, nil, err
			}
			if fixed {
				bridge = appendPort(bridge, p)
			}
		}
	}
	sortPorts(bridge)
	return bridge, nil, nil
}

// bindingPort reads one host binding. An empty or zero host port, or a
// range, lets the engine choose, so it claims nothing fixed.
func bindingPort(key, proto string, b PortBinding) (Port, bool, error) {
	fail := func(reason string) (Port, bool, error) {
		return Port{}, false, &ExprError{What: "port binding",
			Expr: b.HostIP + ":" + b.HostPort + "->" + key, Reason: reason}
	}
	hp := strings.TrimSpace(b.HostPort)
	if hp == "" || hp == "0" {
		return Port{}, false, nil
	}
	if lo, hi, ok := strings.Cut(hp, "-"); ok {
		_, ok1 := parsePortNumber(lo)
		_, ok2 := parsePortNumber(hi)
		if !ok1 || !ok2 {
			return fail(reasonPortNumber)
		}
		return Port{}, false, nil
	}
	spec := hp + "/" + proto
	if b.HostIP != "" {
		ip := b.HostIP
		if strings.Contains(ip, ":") && !strings.HasPrefix(ip, "[") {
			ip = "[" + ip + "]"
		}
		spec = ip + ":" + spec
	}
	p, err := ParsePort(spec)
	if err != nil {
		var ee *ExprError
		reason := err.Error()
		if errors.As(err, &ee) {
			reason = ee.Reason
		}
		return fail(reason)
	}
	return p, true, nil
}

func appendPort(list []Port, p Port) []Port {
	if slices.Contains(list, p) {
		return list
	}
	return append(list, p)
}

// sortPorts orders claims so that explanations are stable although the
// bindings come from a map.
func sortPorts(ps []Port) {
	slices.SortFunc(ps, func(a, b Port) int {
		return cmp.Or(cmp.Compare(a.HostPort, b.HostPort), strings.Compare(a.Proto, b.Proto),
			strings.Compare(a.HostIP, b.HostIP))
	})
}
