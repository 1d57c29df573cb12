package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"testing"
	"time"

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

// The collector's setting follows the manager's allocation rate: quiet
// for quietAfter checks lowers it and returns free memory once; the first
// busy check restores it.
func TestQuietGC(t *testing.T) {
	const mib = 1 << 20
	// MiB allocated before each check: quiet for long, then a burst.
	steps := make([]uint64, 24)
	for i := range steps {
		steps[i] = 1
	}
	steps[22] = 50
	var mu sync.Mutex
	var allocs uint64
	checks := 0 // reads after the first
	var events []string
	gc := gcControl{
		setPercent: func(p int) int {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, fmt.Sprintf("check %d: percent %d", checks, p))
			return 0
		},
		release: func() {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, fmt.Sprintf("check %d: release", checks))
		},
	}
	first := true
	read := func() uint64 {
		mu.Lock()
		defer mu.Unlock()
		if !first && checks < len(steps) {
			allocs += steps[checks] * mib
			checks++
		}
		first = false
		return allocs
	}
	tick := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		quietGC(ctx, tick, nil, read, gc, 50, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	for range steps {
		tick <- time.Now()
	}
	cancel()
	<-done
	// A release reads again (one more check's worth of the script).
	second := quietAfter + 1 + quietRelease
	assert.Equal(t, []string{
		fmt.Sprintf("check %d: percent %d", quietAfter, quietGCPercent), // after quietAfter quiet checks
		fmt.Sprintf("check %d: release", quietAfter),
		fmt.Sprintf("check %d: release", second), // quietRelease checks later
		"check 23: percent 50",                   // the burst before check 23
	}, events)
}

// A wake (a listing begins) ends a quiet spell at once, without waiting
// for a check; while busy it only restarts the count of quiet checks.
func TestQuietGCWake(t *testing.T) {
	percents := make(chan int, 8)
	gc := gcControl{
		setPercent: func(p int) int { percents <- p; return 0 },
		release:    func() {},
	}
	read := func() uint64 { return 0 } // nothing allocated: every check is quiet
	tick := make(chan time.Time)
	wake := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		quietGC(ctx, tick, wake, read, gc, 50, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	defer func() { cancel(); <-done }()
	next := func() int {
		t.Helper()
		select {
		case p := <-percents:
			return p
		case <-time.After(5 * time.Second): // a hang guard, not a timing
			t.Fatal("no change of the collector's setting")
			return 0
		}
	}
	for range quietAfter {
		tick <- time.Now()
	}
	assert.Equal(t, quietGCPercent, next(), "quiet after quietAfter checks")
	wake <- struct{}{}
	assert.Equal(t, 50, next(), "a wake restores the busy setting without a check")
	// Busy now: a wake in the middle of a quiet count starts it again.
	for range quietAfter - 1 {
		tick <- time.Now()
	}
	wake <- struct{}{}
	for range quietAfter - 1 {
		tick <- time.Now()
	}
	select {
	case p := <-percents:
		t.Fatalf("setting changed to %d before quietAfter quiet checks after the wake", p)
	default:
	}
	tick <- time.Now()
	assert.Equal(t, quietGCPercent, next(), "quiet again quietAfter checks after the last wake")
}
