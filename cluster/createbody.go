package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// withEnvAndLabels is a create body (a JSON object, as the client sent
// it) with its container environment and labels replaced by env and
// labels, and nothing else changed: every other member keeps its bytes
// and its place. The engine decodes members case-insensitively, the
// last of equal names winning, so every member whose name folds to "Env"
// or "Labels" is dropped and one of each added at the end.
func withEnvAndLabels(body []byte, env []string, labels map[string]string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("the create body is not a JSON object")
	}
	out := make([]byte, 0, len(body)+64)
	out = append(out, '{')
	add := func(key, raw []byte) {
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, key...)
		out = append(out, ':')
		out = append(out, raw...)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("read the create body: %w", err)
		}
		name, _ := tok.(string) // an object's member names are strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("read the create body's %q: %w", name, err)
		}
		if strings.EqualFold(name, "Env") || strings.EqualFold(name, "Labels") {
			continue
		}
		key, err := json.Marshal(name)
		if err != nil {
			return nil, err // a decoded string always encodes
		}
		add(key, raw)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("read the create body: %w", err)
	}
	for _, m := range []struct {
		key string
		v   any
	}{{`"Env"`, env}, {`"Labels"`, labels}} {
		raw, err := json.Marshal(m.v)
		if err != nil {
			return nil, err // strings and maps of strings always encode
		}
		add([]byte(m.key), raw)
	}
	return append(out, '}'), nil
}
