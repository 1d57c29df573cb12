package fakeengine

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func FuzzSplitVersion(f *testing.F) {
	for _, s := range []string{"/v1.41/containers/json", "/_ping", "/v/x", "/v1.9/", "/vx", "v1.41/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		v, rest, ok := splitVersion(p)
		if !ok {
			assert.Equal(t, p, rest)
			return
		}
		assert.Equal(t, p, "/v"+v+rest)
		assert.True(t, strings.HasPrefix(rest, "/"))
		assert.False(t, versionLess(v, v), "a version is never older than itself")
	})
}

func FuzzParseSignal(f *testing.F) {
	for _, s := range []string{"", "9", "KILL", "SIGTERM", "hup", "0", "65", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSignal(s)
		if err != nil {
			assert.Equal(t, http.StatusBadRequest, StatusCode(err))
			return
		}
		assert.True(t, n >= 1 && n <= 64, "signal %d from %q", n, s)
	})
}

func FuzzParseEventTime(f *testing.F) {
	for _, s := range []string{"", "0", "1700000000", "1700000000.000000123", "-1", "1.2.3", "abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := parseEventTime(s, "since"); err != nil {
			assert.Equal(t, http.StatusBadRequest, StatusCode(err))
			assert.Contains(t, err.Error(), "since")
		}
	})
}

// FuzzCreateContainer feeds arbitrary bodies and names to POST /containers/create:
// the engine answers 201 or a 4xx with a message, and never panics.
func FuzzCreateContainer(f *testing.F) {
	f.Add("web", `{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"8080"}]}}}`)
	f.Add("", `{"Image":"busybox","HostConfig":{"Links":["nosuch:alias"]}}`)
	f.Add("x", `{"Image":"nosuch"}`)
	f.Add("a b", `{`)
	f.Add("db", `{"Image":"busybox","HostConfig":{"NetworkMode":"container:zz","Binds":["v:/d"]}}`)
	e := New(Options{Images: []string{"busybox"}})
	f.Fuzz(func(t *testing.T, name, body string) {
		req := httptest.NewRequest(http.MethodPost, "/v1.41/containers/create?name="+url.QueryEscape(name), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		require.True(t, rec.Code == http.StatusCreated || (rec.Code >= 400 && rec.Code < 500), "status %d: %s", rec.Code, rec.Body)
		if rec.Code != http.StatusCreated {
			assert.Contains(t, rec.Body.String(), `"message"`)
		}
	})
}
