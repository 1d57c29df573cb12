package fakeengine

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/go-connections/nat"
)

// The hot responses (container inspect, event lines) are written by hand
// into a byte slice instead of through encoding/json's reflection: with the
// SDK's shapes that is about a hundred and fifty fields per inspect, most of
// them always zero, and it was the largest part of the simulator's CPU per
// container. The output must stay what json.Marshal of the SDK value gives;
// encode_test.go checks that against the reflection-built reference
// (inspectLocked, events.Message) for every shape the engine produces.

// appendString appends s as a JSON string, escaped as encoding/json does
// (including its HTML-safe escapes of <, > and &).
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // rare: let encoding/json get the escapes right
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendKey appends `"k":`; k must need no escaping (callers pass literals).
func appendKey(b []byte, k string) []byte {
	b = append(b, '"')
	b = append(b, k...)
	return append(b, '"', ':')
}

func appendField(b []byte, k, v string) []byte {
	return appendString(appendKey(b, k), v)
}

func appendInt(b []byte, k string, v int64) []byte {
	return strconv.AppendInt(appendKey(b, k), v, 10)
}

func appendBool(b []byte, k string, v bool) []byte {
	return strconv.AppendBool(appendKey(b, k), v)
}

// appendStrings appends a []string as encoding/json does: nil is null.
func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendStringMap appends a map[string]string with sorted keys, as
// encoding/json does: nil is null.
func appendStringMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

// appendPortMap appends a nat.PortMap: keys sorted as strings, a port
// without bindings as null, as encoding/json does.
func appendPortMap(b []byte, m nat.PortMap) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	keys := make([]string, 0, len(m))
	for p := range m {
		keys = append(keys, string(p))
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		bindings := m[nat.Port(k)]
		if bindings == nil {
			b = append(b, "null"...)
			continue
		}
		b = append(b, '[')
		for j, pb := range bindings {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = appendField(b, "HostIp", pb.HostIP)
			b = append(b, ',')
			b = appendField(b, "HostPort", pb.HostPort)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// zeroRest returns the members of v's JSON object except the named ones, each
// preceded by a comma, in encoding/json's order. v is a zero value, so the
// result is a constant the encoders append after the members they write
// themselves: the many fields the engine never sets cost a copy, not a walk.
func zeroRest(v any, written ...string) string {
	full, err := json.Marshal(v)
	if err != nil {
		panic("fakeengine: zeroRest: " + err.Error()) // only ever given SDK zero values
	}
	dec := json.NewDecoder(bytes.NewReader(full))
	var out []byte
	_, _ = dec.Token() // {
	for dec.More() {
		tok, _ := dec.Token()
		key := tok.(string)
		var raw json.RawMessage
		_ = dec.Decode(&raw)
		if slices.Contains(written, key) {
			continue
		}
		out = append(appendString(append(out, ','), key), ':')
		out = append(out, raw...)
	}
	return string(out)
}

// appendEvent appends m as one line of GET /events, the way json.Encoder
// writes an events.Message (omitempty legacy fields included), newline too.
func appendEvent(b []byte, m *events.Message) []byte {
	b = append(b, '{')
	if m.Status != "" {
		b = append(appendField(b, "status", m.Status), ',')
	}
	if m.ID != "" {
		b = append(appendField(b, "id", m.ID), ',')
	}
	if m.From != "" {
		b = append(appendField(b, "from", m.From), ',')
	}
	b = appendField(b, "Type", string(m.Type))
	b = appendField(append(b, ','), "Action", string(m.Action))
	b = append(b, `,"Actor":{`...)
	b = appendField(b, "ID", m.Actor.ID)
	b = appendStringMap(appendKey(append(b, ','), "Attributes"), m.Actor.Attributes)
	b = append(b, '}')
	if m.Scope != "" {
		b = appendField(append(b, ','), "scope", m.Scope)
	}
	if m.Time != 0 {
		b = appendInt(append(b, ','), "time", m.Time)
	}
	if m.TimeNano != 0 {
		b = appendInt(append(b, ','), "timeNano", m.TimeNano)
	}
	return append(b, '}', '\n')
}
