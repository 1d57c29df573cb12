package scheduler

import (
	"net"
	"strconv"
	"strings"
)

// Reasons a port spec is refused.
const (
	reasonPortNumber = "port must be a number from 1 to 65535"
	reasonPortProto  = "protocol must be tcp, udp or sctp"
	reasonPortIP     = "host IP is not an IP address (IPv6 goes in brackets: [::1]:80)"
)

// ParsePort parses the canonical form of one host port claim,
// "[hostIP:]port[/proto]", with IPv6 addresses in brackets. The protocol
// defaults to tcp; an all-addresses IP ("0.0.0.0", "::") becomes "". It
// also reads the Docker API's port keys ("80/tcp"). The error is an
// *ExprError.
func ParsePort(s string) (Port, error) {
	fail := func(reason string) (Port, error) {
		return Port{}, &ExprError{What: "port", Expr: s, Reason: reason}
	}
	rest, proto := s, "tcp"
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		rest, proto = s[:i], s[i+1:]
	}
	if !validProto(proto) {
		return fail(reasonPortProto)
	}
	ip, num := "", rest
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		ip, num = rest[:i], rest[i+1:]
		if strings.HasPrefix(ip, "[") && strings.HasSuffix(ip, "]") {
			ip = ip[1 : len(ip)-1]
			if !strings.Contains(ip, ":") {
				return fail(reasonPortIP)
			}
		} else if strings.Contains(ip, ":") {
			return fail(reasonPortIP)
		}
		parsed := net.ParseIP(ip)
		if parsed == nil {
			return fail(reasonPortIP)
		}
		ip = canonicalIP(parsed)
	}
	port, ok := parsePortNumber(num)
	if !ok || port == 0 {
		return fail(reasonPortNumber)
	}
	return Port{HostIP: ip, HostPort: port, Proto: proto}, nil
}

// canonicalIP prints an address so that equal addresses compare equal;
// all-addresses IPs become "".
func canonicalIP(ip net.IP) string {
	if ip.IsUnspecified() {
		return ""
	}
	return ip.String()
}

func validProto(p string) bool {
	return p == "tcp" || p == "udp" || p == "sctp"
}

// parsePortNumber accepts only plain decimal digits (no sign, no spaces).
func parsePortNumber(s string) (uint16, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > 65535 {
		return 0, false
	}
	return uint16(n), true
}

// String prints the port in the form ParsePort reads back unchanged.
func (p Port) String() string {
	num := strconv.Itoa(int(p.HostPort))
	proto := p.Proto
	if proto == "" {
		proto = "tcp"
	}
	if allAddresses(p.HostIP) {
		return num + "/" + proto
	}
	if strings.Contains(p.HostIP, ":") {
		return "[" + p.HostIP + "]:" + num + "/" + proto
	}
	return p.HostIP + ":" + num + "/" + proto
}

// BridgeCondition is the classic text for a bridge-mode port claim:
// "port 80 (Bridge mode)", with the address and non-tcp protocols shown.
func BridgeCondition(p Port) string {
	s := p.String()
	if p.Proto == "tcp" || p.Proto == "" {
		s = strings.TrimSuffix(s, "/tcp")
	}
	return "port " + s + " (Bridge mode)"
}

// HostCondition is the classic text for a host-mode port claim.
func HostCondition(p Port) string {
	return "port " + strconv.Itoa(int(p.HostPort)) + "/" + p.Proto + " (Host mode)"
}
