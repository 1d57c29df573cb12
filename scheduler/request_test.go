package scheduler

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParsePort(t *testing.T) {
	tests := []struct {
		in   string
		want Port
		out  string
	}{
		{"80", Port{HostPort: 80, Proto: "tcp"}, "80/tcp"},
		{"80/tcp", Port{HostPort: 80, Proto: "tcp"}, "80/tcp"},
		{"53/udp", Port{HostPort: 53, Proto: "udp"}, "53/udp"},
		{"10.0.0.1:80", Port{HostIP: "10.0.0.1", HostPort: 80, Proto: "tcp"}, "10.0.0.1:80/tcp"},
		{"0.0.0.0:80", Port{HostPort: 80, Proto: "tcp"}, "80/tcp"},
		{"[::]:80", Port{HostPort: 80, Proto: "tcp"}, "80/tcp"},
		{"[::1]:8080/sctp", Port{HostIP: "::1", HostPort: 8080, Proto: "sctp"}, "[::1]:8080/sctp"},
		{"65535", Port{HostPort: 65535, Proto: "tcp"}, "65535/tcp"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePort(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, p)
			assert.Equal(t, tt.out, p.String())
		})
	}
	for _, bad := range []string{"", "0", "65536", "-1", "+80", "80/icmp", "80/", "x:80", "::1:80", "[10.0.0.1]:80", "1.2.3.4:", " 80"} {
		t.Run("bad "+bad, func(t *testing.T) {
			_, err := ParsePort(bad)
			var ee *ExprError
			require.True(t, errors.As(err, &ee), "got %v", err)
		})
	}
}

func TestConditions(t *testing.T) {
	assert.Equal(t, "port 80 (Bridge mode)", BridgeCondition(Port{HostPort: 80, Proto: "tcp"}))
	assert.Equal(t, "port 10.0.0.1:80 (Bridge mode)", BridgeCondition(Port{HostIP: "10.0.0.1", HostPort: 80, Proto: "tcp"}))
	assert.Equal(t, "port 53/udp (Bridge mode)", BridgeCondition(Port{HostPort: 53, Proto: "udp"}))
	assert.Equal(t, "port 80/tcp (Host mode)", HostCondition(Port{HostPort: 80, Proto: "tcp"}))
}

func TestParseRequest(t *testing.T) {
	req := &Request{
		Env: []string{"constraint:public!=yes", "constraint:model==~gpu", "affinity:container==*redis*",
			"whitelist:node==n1|n2", "PATH=/bin", "constraint:public!=yes"},
		Labels: map[string]string{LabelConstraints: `["zone==a"]`, LabelAffinities: `["image==redis"]`},
		PortBindings: map[string][]PortBinding{
			"80/tcp":   {{HostPort: "80"}, {HostIP: "10.0.0.1", HostPort: "8080"}},
			"443/tcp":  {{HostPort: ""}},
			"53/udp":   {{HostPort: "5353"}},
			"9000/tcp": {{HostPort: "9000-9010"}},
		},
		VolumesFrom: []string{"data:ro"},
		Links:       []string{"redis:cache", "/db"},
		IpcMode:     "container:x",
		Memory:      1 << 30,
		CPUShares:   2,
	}
	q, err := ParseRequest(req)
	require.NoError(t, err)
	strs := func(es []*Expr) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.String())
		}
		return out
	}
	assert.Equal(t, []string{"zone==a", "public!=yes"}, strs(q.Constraints))
	assert.Equal(t, []string{"image==redis", "container==*redis*"}, strs(q.Affinities))
	assert.Equal(t, []string{"node==n1|n2"}, strs(q.Whitelist))
	assert.Equal(t, []string{"model==~gpu"}, strs(q.Soft))
	assert.Equal(t, []Port{
		{HostPort: 80, Proto: "tcp"},
		{HostPort: 5353, Proto: "udp"},
		{HostIP: "10.0.0.1", HostPort: 8080, Proto: "tcp"},
	}, q.Ports)
	assert.Equal(t, []Dependency{
		{Ref: "data", Condition: "volumes-from=data"},
		{Ref: "redis", Condition: "link=redis"},
		{Ref: "db", Condition: "link=db"},
		{Ref: "x", Condition: "ipc=container:x"},
	}, q.Dependencies)
	assert.Equal(t, int64(2e9), q.NanoCPUs)
	assert.Equal(t, int64(1<<30), q.Memory)
}

func TestParseRequestModes(t *testing.T) {
	t.Run("links on a user network do not pin", func(t *testing.T) {
		q, err := ParseRequest(&Request{NetworkMode: "appnet", Links: []string{"redis"}})
		require.NoError(t, err)
		assert.Empty(t, q.Dependencies)
	})
	t.Run("container network pins", func(t *testing.T) {
		q, err := ParseRequest(&Request{NetworkMode: "container:web", PidMode: "container:web"})
		require.NoError(t, err)
		assert.Equal(t, []Dependency{{"web", "net=container:web"}, {"web", "pid=container:web"}}, q.Dependencies)
	})
	t.Run("host mode claims exposed ports", func(t *testing.T) {
		q, err := ParseRequest(&Request{NetworkMode: "host", ExposedPorts: []string{"80/tcp", "53/udp"},
			PortBindings: map[string][]PortBinding{"80/tcp": {{HostPort: "80"}}}})
		require.NoError(t, err)
		assert.Empty(t, q.Ports)
		assert.Equal(t, []Port{{HostPort: 53, Proto: "udp"}, {HostPort: 80, Proto: "tcp"}}, q.HostPorts)
	})
	t.Run("cpus win over cpu-shares", func(t *testing.T) {
		q, err := ParseRequest(&Request{NanoCPUs: 5e8, CPUShares: 4})
		require.NoError(t, err)
		assert.Equal(t, int64(5e8), q.NanoCPUs)
	})
}

func TestParseRequestErrors(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		what string
	}{
		{"env constraint", Request{Env: []string{"constraint:model>gpu"}}, "constraint"},
		{"env affinity", Request{Env: []string{"affinity:container==/x"}}, "affinity"},
		{"whitelist key", Request{Env: []string{"whitelist:zone==a"}}, "whitelist"},
		{"label json", Request{Labels: map[string]string{LabelConstraints: "model==gpu"}}, "label " + LabelConstraints},
		{"label expr", Request{Labels: map[string]string{LabelAffinities: `["image"]`}}, "affinity"},
		{"host port", Request{PortBindings: map[string][]PortBinding{"80/tcp": {{HostPort: "eighty"}}}}, "port binding"},
		{"host ip", Request{PortBindings: map[string][]PortBinding{"80/tcp": {{HostIP: "nowhere", HostPort: "80"}}}}, "port binding"},
		{"port key", Request{PortBindings: map[string][]PortBinding{"80/icmp": {{HostPort: "80"}}}}, "port"},
		{"volumes-from", Request{VolumesFrom: []string{":ro"}}, "volumes-from"},
		{"net", Request{NetworkMode: "container:"}, "net"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRequest(&tt.req)
			var ee *ExprError
			require.True(t, errors.As(err, &ee), "got %v", err)
			assert.Equal(t, tt.what, ee.What)
			assert.NotEmpty(t, ee.Reason)
		})
	}
}

func TestMoveExpressions(t *testing.T) {
	env := []string{"PATH=/bin", "constraint:model==gpu", "affinity:container==redis", "whitelist:node==n1", "constraint:zone==a"}
	labels := map[string]string{"app": "web", LabelConstraints: `["zone==a","disk==ssd"]`}
	outEnv, outLabels, err := MoveExpressions(env, labels)
	require.NoError(t, err)
	assert.Equal(t, []string{"PATH=/bin", "whitelist:node==n1"}, outEnv)
	assert.Equal(t, map[string]string{
		"app":            "web",
		LabelConstraints: `["zone==a","disk==ssd","model==gpu"]`,
		LabelAffinities:  `["container==redis"]`,
	}, outLabels)
	assert.Equal(t, `["zone==a","disk==ssd"]`, labels[LabelConstraints], "input labels must not change")
	assert.Len(t, env, 5, "input env must not change")

	t.Run("nothing to move keeps the labels", func(t *testing.T) {
		e, l, err := MoveExpressions([]string{"A=1"}, labels)
		require.NoError(t, err)
		assert.Equal(t, []string{"A=1"}, e)
		assert.Equal(t, labels, l)
	})
	t.Run("parsing the moved request gives the same query", func(t *testing.T) {
		before, err := ParseRequest(&Request{Env: env, Labels: labels})
		require.NoError(t, err)
		after, err := ParseRequest(&Request{Env: outEnv, Labels: outLabels})
		require.NoError(t, err)
		assert.ElementsMatch(t, exprStrings(before.Constraints), exprStrings(after.Constraints))
		assert.ElementsMatch(t, exprStrings(before.Affinities), exprStrings(after.Affinities))
	})
	for name, tc := range map[string]struct {
		env    []string
		labels map[string]string
	}{
		"bad env":        {[]string{"constraint:model=gpu"}, nil},
		"bad whitelist":  {[]string{"whitelist:zone==a"}, nil},
		"bad label":      {nil, map[string]string{LabelAffinities: "[1]"}},
		"bad label expr": {nil, map[string]string{LabelAffinities: `["container"]`}},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := MoveExpressions(tc.env, tc.labels)
			var ee *ExprError
			assert.True(t, errors.As(err, &ee), "got %v", err)
		})
	}
}

func exprStrings(es []*Expr) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.String())
	}
	return out
}
