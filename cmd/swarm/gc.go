package main

import (
	"log/slog"
	"runtime/debug"
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
