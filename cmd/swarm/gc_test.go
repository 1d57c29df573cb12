package main

import (
	"io"
	"log/slog"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSetGCDefault(t *testing.T) {
	old := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(old) })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	assert.Equal(t, managerGCPercent, setGCDefault(func(string) string { return "" }, logger))
	assert.Equal(t, managerGCPercent, debug.SetGCPercent(managerGCPercent), "applied to the runtime")

	debug.SetGCPercent(200) // as the runtime does for GOGC=200
	assert.Equal(t, 200, setGCDefault(func(k string) string { return map[string]string{"GOGC": "200"}[k] }, logger))
	assert.Equal(t, 200, debug.SetGCPercent(200), "the user's GOGC is left alone")
}
