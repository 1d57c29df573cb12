package cluster

import (
	"encoding/json"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Only the top-level Env and Labels change, whatever their spelling;
// every other member keeps its bytes and its place.
func TestWithEnvAndLabelsChangesNothingElse(t *testing.T) {
	body := `{"Image":"busybox", "env":["constraint:zone==z1","A=1"],"Future" : {"Env":["kept"]},` +
		`"Labels":{"a":"b"},"HostConfig":{"Memory":0,"Labels":null},"ENV":null}`
	got, err := withEnvAndLabels([]byte(body), []string{"A=1"},
		map[string]string{"a": "b", "com.docker.swarm.constraints": `["zone==z1"]`})
	require.NoError(t, err)
	assert.Equal(t, `{"Image":"busybox","Future":{"Env":["kept"]},"HostConfig":{"Memory":0,"Labels":null},`+
		`"Env":["A=1"],"Labels":{"a":"b","com.docker.swarm.constraints":"[\"zone==z1\"]"}}`, string(got))

	for _, bad := range []string{`[]`, `"x"`, `{"Image":}`, `{"Image":"a"`} {
		_, err := withEnvAndLabels([]byte(bad), nil, nil)
		assert.Error(t, err, "body %s", bad)
	}
}

// FuzzWithEnvAndLabels holds withEnvAndLabels to its promise for any body
// an engine accepts: decoded by encoding/json (as dockerd decodes it), the
// edited body is the original with Env and Labels replaced, nothing else.
func FuzzWithEnvAndLabels(f *testing.F) {
	f.Add([]byte(`{"Image":"busybox","Env":["constraint:a==b"],"Labels":{"x":"y"},"HostConfig":{"Memory":5}}`))
	f.Add([]byte(`{"env":["A=1"],"eNv":null,"LABELS":{"k":"v"},"Cmd":"sh"}`))
	f.Add([]byte(`{"Labelſ":{"k":"v"},"\u0045nv":["x"],"Image":"a"}`))
	f.Add([]byte(` { "Image" : "a" , "Volumes" : { } } `))
	f.Fuzz(func(t *testing.T, data []byte) {
		var want container.CreateRequest
		if json.Unmarshal(data, &want) != nil {
			return // the API refuses it before placement
		}
		env, labels := []string{"E=1"}, map[string]string{"l": "v"}
		edited, err := withEnvAndLabels(data, env, labels)
		if err != nil {
			require.NotEqual(t, byte('{'), firstNonSpace(data), "body %q: %v", data, err)
			return // null and the like: no Config, refused before placement
		}
		var got container.CreateRequest
		require.NoError(t, json.Unmarshal(edited, &got), "edited %q from %q", edited, data)
		if want.Config == nil {
			want.Config = &container.Config{}
		}
		want.Env, want.Labels = env, labels
		require.Equal(t, want, got, "edited %q from %q", edited, data)
	})
}

func firstNonSpace(b []byte) byte {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}
