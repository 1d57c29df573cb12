// Package e2etls runs the seed walkthrough end to end over TLS on every hop: the lab of
// test/lab/lab.sh in TLS mode (`lab.sh up --tls`: certificates from `swarm certs create`,
// every engine on IP:2376 with --tlsverify and no plain port), the real manager on
// 10.77.0.1:3376 with --tlsverify and client certificates for the engines, and the real
// docker CLI with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH.
//
// TestMain brings the TLS lab up once per `go test` run and down at the end. It takes the
// same run lock as test/e2e (/run/swarmlab.e2e.lock), so the two packages never share the
// lab. It needs root; without root, or with -short, every test is skipped with the reason.
// Environment: LAB_KEEP=1 leaves the lab and its certificates up after the run; LAB_STATE
// is the lab's state directory (default /var/lib/swarmlab).
package e2etls
