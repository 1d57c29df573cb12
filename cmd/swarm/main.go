// Command swarm is the one binary of the project: `manage` runs the
// cluster manager, `join` runs a node agent, `create` makes a discovery
// token, `list` prints a cluster's engines, `certs create` issues the TLS
// certificates. This package only wires flags to constructors; behaviour
// lives in the packages it calls.
package main

import (
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

const usage = `Usage: swarm COMMAND [OPTIONS]

A Docker cluster manager: point DOCKER_HOST at it and use the docker CLI.

Commands:
  manage    run a manager:          swarm manage [-H tcp://0.0.0.0:2375] <discovery>
  join      run a node agent:       swarm join --advertise=HOST:PORT token://TOKEN
  create    create a cluster token: swarm create [--manager HOST:PORT]...
  list      list a cluster's nodes: swarm list <discovery>
  certs     make TLS certificates:  swarm certs create --out DIR --manager HOST --node NAME=IP...
  version   print the version

Run 'swarm COMMAND --help' for the options of a command.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a command and returns the process exit code: 0 on
// success, 1 when the command failed, 2 on a usage error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "manage", "m":
		return runManage(rest, stdout, stderr)
	case "join", "j":
		return runJoin(rest, stdout, stderr)
	case "create", "c":
		return runCreate(rest, stdout, stderr)
	case "list", "l":
		return runList(rest, stdout, stderr)
	case "certs":
		return runCerts(rest, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "swarm version %s\n", version)
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "swarm: unknown command %q\n\n%s", cmd, usage)
	return 2
}
