package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/swarmlab/swarm/pki"
)

// runCerts handles `swarm certs create …`: a CA plus server and client
// certificates for the manager, every engine and the docker CLI.
func runCerts(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stdout, pki.CreateUsage())
		return 0
	}
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintf(stderr, "usage: swarm certs create --out DIR --manager HOST_OR_IP... [--node NAME=IP]... [--client NAME]...\n")
		return 2
	}
	opts, err := pki.ParseCreateArgs(args[1:])
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, pki.CreateUsage())
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "swarm certs create: %v\n", err)
		return 2
	}
	layout, err := pki.Create(opts)
	if err != nil {
		fmt.Fprintf(stderr, "swarm certs create: %v\n", err)
		return 1
	}
	fmt.Fprint(stdout, layout.Instructions())
	return 0
}
