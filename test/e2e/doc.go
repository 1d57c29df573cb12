// Package e2e holds the end-to-end tests: they drive the real docker CLI and the Go SDK
// against real Docker engines running in the lab of test/lab/lab.sh.
//
// TestMain brings the lab up once per `go test` run and tears it down at the end. It needs
// root (the lab creates network namespaces and starts dockerd); without root, or with -short,
// every test that calls Need is skipped with the reason. Environment:
//
//	LAB_KEEP=1   leave the lab up after the run (for poking at it by hand)
//	LAB_REUSE=1  use a lab that is already up instead of recreating it, and leave it up
//	LAB_NODES=N  number of engines (default 4: swarm-master, frontend, backend1, backend2)
//	LAB_STATE    the lab's state directory (default /var/lib/swarmlab)
//
// A new test starts with `lab := Need(t)` and talks to lab.Engines with Docker or Client.
package e2e
