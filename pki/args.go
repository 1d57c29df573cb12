package pki

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"time"
)

// maxDNSName is the longest DNS name RFC 1035 allows.
const maxDNSName = 253

// reservedClientNames are paths Create itself writes in --out; a client
// directory with one of these names would collide with them.
var reservedClientNames = map[string]bool{
	ManagerDir: true, ManagerClientDir: true, NodesDir: true, CAFile: true, CAKeyFile: true,
}

// Validate checks every field and returns the first problem, naming the
// bad value and the expected form.
func (o CreateOptions) Validate() error {
	if o.Out == "" {
		return errors.New("--out DIR is required: the directory to write the CA and certificates to")
	}
	if o.Force && o.ReuseCA {
		return errors.New("--force and --reuse-ca contradict each other: --force replaces the CA, --reuse-ca keeps it; pick one")
	}
	if o.Validity < 0 {
		return fmt.Errorf("validity %s is negative: want a positive duration", o.Validity)
	}
	if !o.ReuseCA && len(o.Managers) == 0 {
		return errors.New("--manager is required: give each host name or IP the docker CLI reaches the manager at " +
			"(repeat --manager for several, e.g. --manager manager.example.com --manager 10.0.0.2)")
	}
	if o.ReuseCA && len(o.Managers)+len(o.Nodes)+len(o.Clients) == 0 {
		return errors.New("--reuse-ca with nothing to issue: add --manager, --node NAME=IP or --client NAME")
	}
	for _, m := range o.Managers {
		if err := validateManager(m); err != nil {
			return err
		}
	}
	names := map[string]bool{}
	for _, n := range o.Nodes {
		if err := validateNode(n); err != nil {
			return err
		}
		if names[n.Name] {
			return fmt.Errorf("--node %s given twice: node names must be unique", n.Name)
		}
		names[n.Name] = true
	}
	clients := map[string]bool{}
	for _, c := range o.Clients {
		if err := validateName(c); err != nil {
			return fmt.Errorf("--client %q: %w", c, err)
		}
		if reservedClientNames[c] {
			return fmt.Errorf("--client %q: the name is used by swarm certs itself; choose another", c)
		}
		if clients[c] {
			return fmt.Errorf("--client %s given twice: client names must be unique", c)
		}
		clients[c] = true
	}
	return nil
}

func validateManager(m string) error {
	if ip := net.ParseIP(m); ip != nil {
		if ip.IsUnspecified() {
			return fmt.Errorf("--manager %q: an unspecified address cannot be connected to; give the IP clients use", m)
		}
		return nil
	}
	if _, _, err := net.SplitHostPort(m); err == nil {
		return fmt.Errorf("--manager %q: want a host name or IP without a port (e.g. manager.example.com or 10.0.0.2)", m)
	}
	if err := validateName(m); err != nil {
		return fmt.Errorf("--manager %q: %w (or an IP address)", m, err)
	}
	return nil
}

func validateNode(n Node) error {
	if err := validateName(n.Name); err != nil {
		return fmt.Errorf("--node %q: %w", n.Name+"="+n.IP.String(), err)
	}
	if n.IP == nil {
		return fmt.Errorf("--node %q: no IP address: want NAME=IP, e.g. node1=10.0.0.5", n.Name)
	}
	if n.IP.IsUnspecified() {
		return fmt.Errorf("--node %s=%s: an unspecified address cannot be connected to; give the IP the manager reaches the engine at", n.Name, n.IP)
	}
	return nil
}

// validateName accepts a DNS name: dot-separated labels of letters,
// digits, '-' and '_', none empty, none starting or ending with '-'. Names
// are also directory names, so this keeps '/' and ".." out.
func validateName(s string) error {
	const want = "want a DNS name of letters, digits, '-', '_' and '.', e.g. node1 or node1.example.com"
	if s == "" {
		return errors.New("empty name: " + want)
	}
	if len(s) > maxDNSName {
		return fmt.Errorf("name is %d characters long, at most %d allowed", len(s), maxDNSName)
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return errors.New("empty or over-long label: " + want)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("label %q starts or ends with '-': %s", label, want)
		}
		for _, r := range label {
			ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
			if !ok {
				return fmt.Errorf("character %q not allowed: %s", r, want)
			}
		}
	}
	return nil
}

// ParseNode reads NAME=IP.
func ParseNode(s string) (Node, error) {
	name, ipText, ok := strings.Cut(s, "=")
	if !ok {
		return Node{}, fmt.Errorf("%q has no '=': want NAME=IP, e.g. node1=10.0.0.5", s)
	}
	if name == "" {
		return Node{}, fmt.Errorf("%q has an empty name: want NAME=IP, e.g. node1=10.0.0.5", s)
	}
	ip := net.ParseIP(ipText)
	if ip == nil {
		return Node{}, fmt.Errorf("%q: %q is not an IP address: want NAME=IP, e.g. node1=10.0.0.5 (host names go in NAME)", s, ipText)
	}
	n := Node{Name: name, IP: ip}
	if err := validateNode(n); err != nil {
		return Node{}, err
	}
	return n, nil
}

// stringsFlag is a repeatable string flag.
type stringsFlag []string

func (s *stringsFlag) String() string { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// nodesFlag is a repeatable NAME=IP flag, checked as it is parsed so the
// flag package's error names the flag and the bad value.
type nodesFlag []Node

func (n *nodesFlag) String() string { return fmt.Sprint(len(*n), " nodes") }
func (n *nodesFlag) Set(v string) error {
	node, err := ParseNode(v)
	if err != nil {
		return err
	}
	*n = append(*n, node)
	return nil
}

func createFlags(opts *CreateOptions, managers, clients *stringsFlag, nodes *nodesFlag, days *int) *flag.FlagSet {
	fs := flag.NewFlagSet("swarm certs create", flag.ContinueOnError)
	fs.StringVar(&opts.Out, "out", "", "directory to write the CA and certificates to (required)")
	fs.Var(managers, "manager", "host name or IP of the manager, repeatable (required unless --reuse-ca)")
	fs.Var(nodes, "node", "engine as NAME=IP, repeatable; gets nodes/NAME/{ca,cert,key}.pem")
	fs.Var(clients, "client", "docker CLI client NAME, repeatable; gets NAME/{ca,cert,key}.pem (default: one named \"client\")")
	fs.BoolVar(&opts.Force, "force", false, "replace an existing CA (everything it signed stops being trusted)")
	fs.BoolVar(&opts.ReuseCA, "reuse-ca", false, "sign with the CA already in --out (add or re-issue certificates)")
	fs.IntVar(days, "days", int(DefaultLeafValidity/(24*time.Hour)), "validity of the issued certificates in days")
	return fs
}

// CreateUsage is the help text of `swarm certs create`.
func CreateUsage() string {
	var buf bytes.Buffer
	fs := createFlags(&CreateOptions{}, &stringsFlag{}, &stringsFlag{}, &nodesFlag{}, new(int))
	fs.SetOutput(&buf)
	buf.WriteString("Usage: swarm certs create --out DIR --manager HOST_OR_IP... [--node NAME=IP]... [--client NAME]...\n\n" +
		"Writes a CA and the certificates for TLS on every hop (see docs/tls.md).\n\nOptions:\n")
	fs.PrintDefaults()
	return buf.String()
}

// ParseCreateArgs parses the arguments after `swarm certs create` and
// validates them. -h/--help returns an error wrapping flag.ErrHelp whose
// message is the usage text.
func ParseCreateArgs(args []string) (CreateOptions, error) {
	var opts CreateOptions
	var managers, clients stringsFlag
	var nodes nodesFlag
	var days int
	fs := createFlags(&opts, &managers, &clients, &nodes, &days)
	fs.SetOutput(&bytes.Buffer{}) // errors are returned, not printed
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return CreateOptions{}, fmt.Errorf("%w\n%s", flag.ErrHelp, CreateUsage())
		}
		return CreateOptions{}, fmt.Errorf("swarm certs create: %w (see --help)", err)
	}
	if fs.NArg() > 0 {
		return CreateOptions{}, fmt.Errorf("swarm certs create: unexpected argument %q: every value needs its flag, "+
			"e.g. --manager 10.0.0.2 --node node1=10.0.0.5", fs.Arg(0))
	}
	const maxDays = 100 * 365
	if days < 1 || days > maxDays {
		return CreateOptions{}, fmt.Errorf("swarm certs create: --days %d: want a number of days from 1 to %d", days, maxDays)
	}
	opts.Managers, opts.Clients, opts.Nodes = managers, clients, nodes
	opts.Validity = time.Duration(days) * 24 * time.Hour
	if err := opts.Validate(); err != nil {
		return CreateOptions{}, fmt.Errorf("swarm certs create: %w", err)
	}
	return opts, nil
}
