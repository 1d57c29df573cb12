package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzParseListenAddr: any -H value is either refused with a usage error
// naming it, or parsed into an address whose String() parses back to
// itself (the form the listening log line and errors show).
func FuzzParseListenAddr(f *testing.F) {
	for _, s := range []string{"tcp://0.0.0.0:2375", ":3375", "127.0.0.1:1", "unix:///run/swarm.sock", "unix://sock",
		"tcp://[::1]:2375", "http://x:80", "tcp://h", "tcp://h:70000", "tcp://h:1/path", "://", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := parseListenAddr(s)
		if err != nil {
			var ue *usageError
			require.ErrorAs(t, err, &ue)
			assert.True(t, strings.HasPrefix(err.Error(), "-H "), "error %q does not name the flag", err)
			return
		}
		require.Contains(t, []string{"tcp", "unix"}, l.Network)
		again, err := parseListenAddr(l.String())
		require.NoError(t, err, "%q parsed to %v, whose String() does not parse", s, l)
		assert.Equal(t, l, again)
	})
}

// FuzzSplitInterleaved: reordering never loses, adds or changes an
// argument ("--" included, or what follows it would be read as flags).
func FuzzSplitInterleaved(f *testing.F) {
	f.Add("token://x -H tcp://0.0.0.0:2375 --tls nodes://a")
	f.Add("-H a -- -b c")
	f.Add("--strategy=random file:///x -l debug")
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Fields(line)
		got := splitInterleaved(args, manageBoolFlags)
		require.ElementsMatch(t, args, got)
	})
}
