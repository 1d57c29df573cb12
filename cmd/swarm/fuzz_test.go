package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

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
