package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/system"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLabels(t *testing.T) {
	tests := []struct {
		name, in string
		want     []labelSpread
		err      string
	}{
		{name: "empty", in: ""},
		{name: "one key", in: "zone=east|west", want: []labelSpread{{Key: "zone", Values: []string{"east", "west"}}}},
		{name: "two keys", in: "model=i5, zone=a", want: []labelSpread{
			{Key: "model", Values: []string{"i5"}}, {Key: "zone", Values: []string{"a"}}}},
		{name: "no equals", in: "zone", err: "has no '='"},
		{name: "empty value", in: "zone=a||b", err: "empty value"},
		{name: "bad key", in: "-x=a", err: "must start with a letter"},
		{name: "twice", in: "zone=a,zone=b", err: "given twice"},
		{name: "reserved", in: "sim=1", err: "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseLabels(tt.in)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestLabelsForDealsValuesInTurn(t *testing.T) {
	spreads, err := parseLabels("zone=a|b|c,model=x|y")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"zone": "a", "model": "x", "sim": "0000"}, labelsFor(spreads, 0))
	assert.Equal(t, map[string]string{"zone": "c", "model": "y", "sim": "0005"}, labelsFor(spreads, 5))
}

func FuzzParseLabels(f *testing.F) {
	for _, s := range []string{"", "zone=a|b", "a=1,b=2|3", "=", "a=|", "sim=1", "a=b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spreads, err := parseLabels(s)
		if err != nil {
			return
		}
		for _, ls := range spreads {
			require.NotEmpty(t, ls.Values)
			require.True(t, labelKey.MatchString(ls.Key))
			for _, v := range ls.Values {
				require.NotEmpty(t, v)
				require.False(t, strings.ContainsAny(v, ",|="), "value %q holds a separator", v)
			}
		}
	})
}

func TestParseFlagsRejects(t *testing.T) {
	tests := []struct {
		name string
		args []string
		err  string
	}{
		{"no addrs file", []string{"--engines", "2"}, "--addrs-file is required"},
		{"zero engines", []string{"--engines", "0", "--addrs-file", "x"}, "--engines 0: must be between 1"},
		{"negative containers", []string{"--containers-per-engine", "-1", "--addrs-file", "x"}, "--containers-per-engine -1"},
		{"negative latency", []string{"--latency", "-1ms", "--addrs-file", "x"}, "--latency -1ms"},
		{"host name", []string{"--listen", "localhost:2000", "--addrs-file", "x"}, "is not an IP address"},
		{"no port", []string{"--listen", "127.0.0.1", "--addrs-file", "x"}, "want IP:BASEPORT"},
		{"ports past 65535", []string{"--engines", "100", "--listen", "127.0.0.1:65500", "--addrs-file", "x"}, "past 65535"},
		{"bad labels", []string{"--labels", "zone", "--addrs-file", "x"}, "has no '='"},
		{"stray argument", []string{"--addrs-file", "x", "extra"}, `unexpected argument "extra"`},
		{"unknown flag", []string{"--nodes", "3"}, "flag provided but not defined"},
		{"gc off", []string{"--gc-percent", "0", "--addrs-file", "x"}, "--gc-percent 0: must be -1"},
		{"gc below -1", []string{"--gc-percent", "-5", "--addrs-file", "x"}, "--gc-percent -5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			_, err := parseFlags(tt.args, &stderr)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.err)
		})
	}
}

// TestRunServesEngines starts three engines on free ports and reads
// them back the way the manager would: address file, info, listing.
func TestRunServesEngines(t *testing.T) {
	dir := t.TempDir()
	addrs := filepath.Join(dir, "engines.txt")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"--engines", "3", "--containers-per-engine", "8", "--labels", "zone=a|b",
			"--listen", "127.0.0.1:0", "--addrs-file", addrs}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(line, "ready: 3 engines"), line)
	go io.Copy(io.Discard, pr) //nolint:errcheck // drains the pipe until run returns

	data, err := os.ReadFile(addrs)
	require.NoError(t, err)
	lines := strings.Fields(string(data))
	require.Len(t, lines, 3)
	names := map[string]bool{}
	for i, addr := range lines {
		var info system.Info
		getJSON(t, "http://"+addr+"/v1.41/info", &info)
		assert.Equal(t, []string{"sim=000" + string(rune('0'+i)), "zone=" + []string{"a", "b", "a"}[i]}, sortedLabels(info.Labels))
		var list []container.Summary
		getJSON(t, "http://"+addr+"/v1.41/containers/json?all=1", &list)
		require.Len(t, list, 8)
		running, published := 0, 0
		for _, c := range list {
			assert.False(t, names[c.Names[0]], "name %s repeats across engines", c.Names[0])
			names[c.Names[0]] = true
			if c.State == "running" {
				running++
			}
			for _, p := range c.Ports {
				if p.PublicPort != 0 {
					published++
				}
			}
		}
		assert.Equal(t, 5, running, "two thirds of 8 (j%%3 != 0) run")
		assert.Positive(t, published)
	}
	cancel()
	assert.Equal(t, 0, <-done)
}

func TestRunBadFlagsExitTwo(t *testing.T) {
	var stderr strings.Builder
	code := run(context.Background(), []string{"--engines", "-4", "--addrs-file", "x"}, io.Discard, &stderr)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "--engines -4: must be between 1")
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}

func sortedLabels(ls []string) []string {
	out := slices.Clone(ls)
	slices.Sort(out)
	return out
}

func TestRunBusyPortExitsOne(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	var stderr strings.Builder
	code := run(context.Background(), []string{"--engines", "2", "--listen", l.Addr().String(),
		"--addrs-file", filepath.Join(t.TempDir(), "a.txt")}, io.Discard, &stderr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "engine 0 on "+l.Addr().String())
	assert.Contains(t, stderr.String(), "pick another --listen base port")
}

func TestParseFlagsGCPercent(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"default is lazy", nil, 400},
		{"keep GOGC", []string{"--gc-percent", "-1"}, -1},
		{"explicit", []string{"--gc-percent", "150"}, 150},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			cfg, err := parseFlags(append(tt.args, "--addrs-file", "x"), &stderr)
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg.GCPercent)
		})
	}
}
