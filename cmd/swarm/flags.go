package main

import (
	"fmt"
	"strings"
)

// listFlag is a repeatable string flag (-H a -H b, --filter x --filter y).
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// splitInterleaved lets flags follow positional arguments, as classic swarm
// users wrote `swarm manage token://x -H tcp://0.0.0.0:2375`: it returns the
// arguments reordered so that every flag comes before the first positional
// one; after "--" nothing is a flag. boolFlags names the flags that take no
// value.
func splitInterleaved(args []string, boolFlags map[string]bool) []string {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			// Keep the "--" so the flag package takes what follows as
			// positional even when it starts with "-".
			flags = append(flags, "--")
			positional = append(positional, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") || boolFlags[name] {
			continue
		}
		if i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	return append(flags, positional...)
}

// usageError is a mistake in the command line: the process exits 2 and
// prints the message, which names the flag and what is valid.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}
