package main

import (
	"fmt"
	"regexp"
	"strings"
)

// labelSpread is one --labels key with the values dealt to engines in
// turn: engine i gets Values[i % len(Values)].
type labelSpread struct {
	Key    string
	Values []string
}

// labelKey is what dockerd accepts for --label keys in practice; values
// may not hold the separators of the flag syntax.
var labelKey = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)

// indexLabel is set on every engine to its zero-padded index.
const indexLabel = "sim"

const labelsSyntax = `want KEY=V1|V2|…[,KEY=…], e.g. "model=i5|i7,zone=east|west"`

// parseLabels reads the --labels value. An empty string means no labels.
func parseLabels(s string) ([]labelSpread, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []labelSpread
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		key, vals, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("--labels %q: %q has no '=': %s", s, part, labelsSyntax)
		}
		if !labelKey.MatchString(key) {
			return nil, fmt.Errorf("--labels %q: key %q must start with a letter or digit and hold only letters, digits and . _ / -: %s", s, key, labelsSyntax)
		}
		if key == indexLabel {
			return nil, fmt.Errorf("--labels %q: key %q is reserved: the simulator sets it to each engine's index", s, key)
		}
		if seen[key] {
			return nil, fmt.Errorf("--labels %q: key %q given twice: list all its values once, separated by '|'", s, key)
		}
		seen[key] = true
		ls := labelSpread{Key: key}
		for _, v := range strings.Split(vals, "|") {
			if v == "" || strings.ContainsAny(v, " \t\n=") {
				return nil, fmt.Errorf("--labels %q: key %q has an empty value or one with spaces or '=': %s", s, key, labelsSyntax)
			}
			ls.Values = append(ls.Values, v)
		}
		out = append(out, ls)
	}
	return out, nil
}

// labelsFor returns engine i's labels; the "sim" label always names the
// engine's index so a constraint can target one engine.
func labelsFor(spreads []labelSpread, i int) map[string]string {
	m := make(map[string]string, len(spreads)+1)
	for _, ls := range spreads {
		m[ls.Key] = ls.Values[i%len(ls.Values)]
	}
	m[indexLabel] = fmt.Sprintf("%04d", i)
	return m
}
