package discovery

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// MaxExpansion bounds how many addresses one range entry may produce, so a
// typo such as 10.0.0.[1:9999999]:2375 is an error instead of an allocation
// of millions of strings.
const MaxExpansion = 65536

// entryForm is repeated in every entry error so the user sees what is expected.
const entryForm = "expected host:port with port 1-65535, e.g. 10.0.0.1:2375, " +
	"10.0.0.[10:200]:2375 or node1:[2375:2380]"

// ErrBadEntry is wrapped by every error about a malformed membership entry.
var ErrBadEntry = errors.New("bad discovery entry")

// rangeRE matches one numeric range such as [10:200]; IPv6 literals like
// [::1] or [2001:db8::1] never match because both sides must be digits only.
var rangeRE = regexp.MustCompile(`\[(\d+):(\d+)\]`)

// hostnameRE accepts DNS names and IPv4 literals; IPv6 literals are checked
// with net.ParseIP instead.
var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$`)

// ParseEntries splits a comma-separated list (as in nodes://a:1,b:2) and
// expands every entry. Empty items between commas are rejected so a stray
// comma is not silently ignored. The result is sorted and deduplicated.
func ParseEntries(list string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return nil, fmt.Errorf("%w: empty node list: %s", ErrBadEntry, entryForm)
	}
	var all []string
	for i, item := range strings.Split(list, ",") {
		if strings.TrimSpace(item) == "" {
			return nil, fmt.Errorf("%w: item %d of %q is empty (stray comma?): %s",
				ErrBadEntry, i+1, list, entryForm)
		}
		addrs, err := ParseEntry(item)
		if err != nil {
			return nil, err
		}
		all = append(all, addrs...)
		if len(all) > MaxExpansion {
			return nil, fmt.Errorf("%w: %q expands to more than %d addresses",
				ErrBadEntry, list, MaxExpansion)
		}
	}
	return Normalize(all), nil
}

// ParseEntry validates one entry and expands its range, if any. An optional
// tcp:// prefix is accepted because users often paste DOCKER_HOST values.
// At most one range is allowed per entry; it may stand anywhere (an IPv4
// octet, part of a host name, or the port).
func ParseEntry(entry string) ([]string, error) {
	raw := entry
	entry = strings.TrimPrefix(strings.TrimSpace(entry), "tcp://")
	if entry == "" {
		return nil, fmt.Errorf("%w: empty entry: %s", ErrBadEntry, entryForm)
	}
	if strings.Contains(entry, "://") {
		return nil, fmt.Errorf("%w: %q has an unsupported scheme (only tcp:// may prefix an entry): %s",
			ErrBadEntry, raw, entryForm)
	}
	locs := rangeRE.FindAllStringSubmatchIndex(entry, -1)
	if len(locs) > 1 {
		return nil, fmt.Errorf("%w: %q has %d ranges, at most one is allowed: %s",
			ErrBadEntry, raw, len(locs), entryForm)
	}
	if len(locs) == 0 {
		addr, err := ValidateAddr(entry)
		if err != nil {
			return nil, err
		}
		return []string{addr}, nil
	}
	return expandRange(raw, entry, locs[0])
}

// expandRange expands the single range located at loc (submatch indexes of
// rangeRE) and validates every produced address.
func expandRange(raw, entry string, loc []int) ([]string, error) {
	startText, endText := entry[loc[2]:loc[3]], entry[loc[4]:loc[5]]
	start, err1 := strconv.Atoi(startText)
	end, err2 := strconv.Atoi(endText)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("%w: range in %q has numbers too large: %s", ErrBadEntry, raw, entryForm)
	}
	if start > end {
		return nil, fmt.Errorf("%w: range [%d:%d] in %q goes backwards: write [low:high]",
			ErrBadEntry, start, end, raw)
	}
	if end-start+1 > MaxExpansion {
		return nil, fmt.Errorf("%w: range [%d:%d] in %q expands to more than %d addresses",
			ErrBadEntry, start, end, raw, MaxExpansion)
	}
	// A leading zero in the low bound (node[01:12]) asks for zero padding.
	width := 0
	if len(startText) > 1 && startText[0] == '0' {
		width = len(startText)
	}
	prefix, suffix := entry[:loc[0]], entry[loc[1]:]
	out := make([]string, 0, end-start+1)
	for n := start; n <= end; n++ {
		addr, err := ValidateAddr(fmt.Sprintf("%s%0*d%s", prefix, width, n, suffix))
		if err != nil {
			return nil, fmt.Errorf("expanding %q: %w", raw, err)
		}
		out = append(out, addr)
	}
	return out, nil
}

// ValidateAddr checks that addr is host:port with a plausible host and a port
// in 1-65535, and returns it in canonical form (IPv6 hosts bracketed).
func ValidateAddr(addr string) (string, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%w: %q is not host:port: %s", ErrBadEntry, addr, entryForm)
	}
	if host == "" {
		return "", fmt.Errorf("%w: %q has no host: %s", ErrBadEntry, addr, entryForm)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return "", fmt.Errorf("%w: %q has port %q, want a number in 1-65535: %s",
			ErrBadEntry, addr, portText, entryForm)
	}
	if ip := net.ParseIP(host); ip != nil {
		if ip.IsUnspecified() {
			return "", fmt.Errorf("%w: %q uses the unspecified address %s, which nobody can connect to: "+
				"give the address the engine is reachable on", ErrBadEntry, addr, host)
		}
		return net.JoinHostPort(ip.String(), strconv.Itoa(port)), nil
	}
	if len(host) > 253 || !hostnameRE.MatchString(host) || strings.Contains(host, "..") {
		return "", fmt.Errorf("%w: %q has host %q, which is neither an IP address nor a host name: %s",
			ErrBadEntry, addr, host, entryForm)
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// Normalize returns addrs sorted and without duplicates, as every Update
// carries them. It does not modify its argument.
func Normalize(addrs []string) []string {
	out := append([]string(nil), addrs...)
	sort.Strings(out)
	n := 0
	for i, a := range out {
		if i > 0 && a == out[n-1] {
			continue
		}
		out[n] = a
		n++
	}
	return out[:n]
}
