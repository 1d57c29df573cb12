package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// managerGCPercent is the garbage collector's target heap growth for the
// manager, instead of Go's 100: nearly all of its heap is a long-lived
// cache (30,000 containers on 1,000 engines hold about 110 MiB), so with
// the default the process settles near twice that. At 50 it settles a
// third lower; the 1,000-engine benchmark showed no loss of create
// throughput beyond its run-to-run spread (A/B runs in docs/benchmarks.md),
// though the collector's share of the manager's CPU under create load is
// about twice what it is at 100; at 25 throughput fell by a sixth.
const managerGCPercent = 50

// setGCDefault applies managerGCPercent unless the user chose with GOGC,
// and returns the percentage in force (-1: collection off).
func setGCDefault(getenv func(string) string, logger *slog.Logger) int {
	if v := getenv("GOGC"); v != "" {
		old := debug.SetGCPercent(100)
		debug.SetGCPercent(old) // read the runtime's value from GOGC back
		logger.Debug("garbage collection as GOGC says", "GOGC", v, "percent", old)
		return old
	}
	debug.SetGCPercent(managerGCPercent)
	return managerGCPercent
}

// A quiet manager (no creates, no listings, only its heartbeats: about
// 1 MB/s of garbage at 1,000 engines) needs no room for growth, yet at 50%
// it lets that garbage pile up to half its cache (35 MiB at 30,000
// containers) between collections, and the runtime keeps the freed pages
// for the growth it expects back (the runtime's scavenger returns them
// slowly: 16 MiB were still held 15 s into a quiet spell). quietGC lowers
// the growth to quietGCPercent once the manager has been quiet for
// quietAfter checks, and returns the free pages to the OS then and every
// quietRelease checks while it stays quiet; the first busy check restores
// the default. A collection of the 76 MiB cache costs some 40 ms of CPU:
// at rest that is about one every 8 s at 10% plus one per release (under
// 1% of a core in all), and a burst runs at most one check (quietCheck)
// at the quiet setting.
const (
	quietCheck     = time.Second
	quietAllocs    = 4 << 20 // allocated between two checks, at most, to be quiet
	quietAfter     = 5       // quiet checks in a row before switching
	quietRelease   = 10      // checks between two returns of free memory while quiet
	quietGCPercent = 10
)

// allocated is how many bytes the heap has allocated since start.
func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// gcControl is what quietGC changes in the runtime.
type gcControl struct {
	setPercent func(int) int // debug.SetGCPercent
	release    func()        // debug.FreeOSMemory
}

// quietGC checks every tick until ctx ends, switching between busyPercent
// and quietGCPercent as described above. A receive from wake (a request
// that allocates much is starting: a container listing) ends a quiet spell
// at once instead of at the next check: the first listing of 30,000
// containers after a quiet spell allocates some 60 MB, and at 10% growth
// the collector ran over the whole cache again and again under it (the
// first listing after 20 s of rest took 0.94-1.07 s, 0.55-0.63 s with
// the wake; docs/benchmarks.md, "Seventh pass").
func quietGC(ctx context.Context, tick <-chan time.Time, wake <-chan struct{}, read func() uint64, gc gcControl, busyPercent int, logger *slog.Logger) {
	prev := read()
	quietFor, quiet := 0, false
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
			quietFor = 0
			if quiet {
				quiet = false
				gc.setPercent(busyPercent)
				prev = read() // the next check counts from here
				logger.Debug("busy request: garbage collection back to its default", "percent", busyPercent)
			}
			continue
		case <-tick:
		}
		now := read()
		busy := now-prev > quietAllocs
		prev = now
		switch {
		case busy:
			quietFor = 0
			if quiet {
				quiet = false
				gc.setPercent(busyPercent)
				logger.Debug("busy: garbage collection back to its default", "percent", busyPercent)
			}
		case !quiet:
			if quietFor++; quietFor >= quietAfter {
				quiet, quietFor = true, 0
				gc.setPercent(quietGCPercent)
				gc.release()
				prev = read()
				logger.Debug("quiet: less room for garbage, free memory returned to the OS", "percent", quietGCPercent)
			}
		default:
			if quietFor++; quietFor >= quietRelease {
				quietFor = 0
				gc.release()
				prev = read()
			}
		}
	}
}
