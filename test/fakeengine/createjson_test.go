package fakeengine

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowDecode is the reference: what encoding/json makes of a create body.
func slowDecode(body []byte) (createRequest, error) {
	var req createRequest
	err := json.NewDecoder(bytes.NewReader(body)).Decode(&req)
	return req, err
}

// TestDecodeCreateFast: bodies real clients send take the fast path and
// decode exactly as encoding/json does; the cases the fast path leaves
// alone are given up, not guessed.
func TestDecodeCreateFast(t *testing.T) {
	cases := []struct {
		name string
		body string
		fast bool
	}{
		{"sdk body", "", true}, // filled from createBody below
		{"cli style", `{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":[],"Cmd":["sh","-c","sleep 1"],"Image":"busybox","Volumes":{},"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{},"HostConfig":{"Binds":["v:/d"],"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},"NetworkMode":"default","PortBindings":{},"RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":true,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null,"Dns":[],"Ulimits":[],"BlkioWeightDevice":[],"MemorySwappiness":null,"OomKillDisable":null,"PidsLimit":null,"Mounts":[{"Type":"bind","Source":"/a\u00e9\\b","Target":"/x"}],"MaskedPaths":null,"ReadonlyPaths":null,"Init":null,"CpuShares":-1024,"Memory":123456789012,"NanoCpus":0},"NetworkingConfig":{"EndpointsConfig":{"bridge":{"Aliases":["x"],"IPAMConfig":null}}}}`, true},
		{"everything set", `{"Hostname":"h","Domainname":"d","User":"u:g","AttachStdin":true,"ExposedPorts":{"80/tcp":{},"53/udp":{ }},"Tty":true,"OpenStdin":true,"StdinOnce":true,"Env":["A=1","É=ü"],"Cmd":["a"],"Healthcheck":null,"ArgsEscaped":true,"Image":"nginx:1.25","Volumes":{"/data":{}},"WorkingDir":"/w","Entrypoint":[],"NetworkDisabled":true,"MacAddress":"02:42:ac:11:00:02","OnBuild":["RUN x"],"Labels":{"a":"","b":"c"},"StopSignal":"SIGINT","StopTimeout":-5,"Shell":["/bin/sh","-c"],"HostConfig":{"NetworkMode":"mynet","PortBindings":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"},{}],"53/udp":null,"81/tcp":[]},"PublishAllPorts":true,"Links":["db:alias"],"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3},"Privileged":true}}`, true},
		{"whitespace everywhere", " \n{ \"Image\" : \"busybox\" ,\t\"HostConfig\" : { \"Memory\" : 0 , \"X\" : [ 1.5e-3 , -0 , true , null , { } ] } } \r\n", true},
		{"null host config", `{"Image":"busybox","HostConfig":null}`, true},
		{"only host config", `{"HostConfig":{}}`, true},
		{"null image allocates config", `{"Image":null}`, true},
		{"empty object", `{}`, true},
		{"escaped string", `{"Image":"busy\u0062ox"}`, false},
		{"folded key", `{"image":"busybox"}`, false},
		{"folded host key", `{"Image":"busybox","HostConfig":{"networkmode":"host"}}`, false},
		{"kelvin fold", `{"Image":"busybox","HostConfig":{"Lin\u212as":["a"]}}`, false},
		{"duplicate key", `{"Image":"a","Image":"b"}`, false},
		{"string cmd", `{"Image":"busybox","Cmd":"sleep 1"}`, false},
		{"null in list", `{"Image":"busybox","Env":["A",null]}`, false},
		{"null label", `{"Image":"busybox","Labels":{"a":null}}`, false},
		{"float memory", `{"Image":"busybox","HostConfig":{"Memory":1.0}}`, false},
		{"healthcheck", `{"Image":"busybox","Healthcheck":{"Test":["NONE"]}}`, false},
		{"trailing data", `{"Image":"busybox"} {}`, false},
		{"bad json in skipped member", `{"Image":"busybox","HostConfig":{"X":[1,]}}`, false},
		{"leading zero", `{"Image":"busybox","HostConfig":{"Y":01}}`, false},
		{"wrong type", `{"Image":5}`, false},
		{"invalid utf8", "{\"Image\":\"bad\xff\"}", false},
		{"not an object", `null`, false},
		{"empty", ``, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			if tc.name == "sdk body" {
				body = createBody(t)
			}
			got, ok := decodeCreateFast(body)
			assert.Equal(t, tc.fast, ok, "fast path taken")
			if !ok {
				return
			}
			want, err := slowDecode(body)
			require.NoError(t, err)
			assert.Equal(t, want, *got)
		})
	}
}

// FuzzDecodeCreateFast: whenever the fast path answers, encoding/json
// decodes the same body without error to the same value.
func FuzzDecodeCreateFast(f *testing.F) {
	f.Add(string(createBody(f)))
	f.Add(`{"Image":"busybox","Labels":{"a":"b"},"HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"8080"}]},"RestartPolicy":{"Name":"always"}}}`)
	f.Add(`{"Cmd":[],"ExposedPorts":{"1/tcp":{}},"StopTimeout":3,"HostConfig":{"X":{"Y":[1e5,"\n",false]}}}`)
	f.Fuzz(func(t *testing.T, body string) {
		got, ok := decodeCreateFast([]byte(body))
		if !ok {
			return
		}
		want, err := slowDecode([]byte(body))
		require.NoError(t, err, "fast path accepted a body encoding/json refuses")
		assert.True(t, json.Valid([]byte(body)), "fast path accepted invalid JSON or trailing data")
		assert.Equal(t, want, *got)
	})
}
