package discovery

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseEntry(t *testing.T) {
	tests := []struct {
		name    string
		entry   string
		want    []string
		wantErr string
	}{
		{name: "ipv4", entry: "10.0.0.1:2375", want: []string{"10.0.0.1:2375"}},
		{name: "hostname", entry: "node-1.example.com:2376", want: []string{"node-1.example.com:2376"}},
		{name: "spaces trimmed", entry: "  10.0.0.1:2375 ", want: []string{"10.0.0.1:2375"}},
		{name: "tcp prefix", entry: "tcp://10.0.0.1:2375", want: []string{"10.0.0.1:2375"}},
		{name: "ipv6", entry: "[::1]:2375", want: []string{"[::1]:2375"}},
		{name: "ipv6 canonicalised", entry: "[2001:DB8:0::1]:2375", want: []string{"[2001:db8::1]:2375"}},
		{name: "ipv4 range", entry: "10.0.0.[10:12]:2375",
			want: []string{"10.0.0.10:2375", "10.0.0.11:2375", "10.0.0.12:2375"}},
		{name: "port range", entry: "host:[2375:2377]",
			want: []string{"host:2375", "host:2376", "host:2377"}},
		{name: "single element range", entry: "10.0.0.[7:7]:2375", want: []string{"10.0.0.7:2375"}},
		{name: "zero padded range", entry: "node[08:10]:2375",
			want: []string{"node08:2375", "node09:2375", "node10:2375"}},
		{name: "missing port", entry: "10.0.0.1", wantErr: `"10.0.0.1" is not host:port`},
		{name: "empty port", entry: "10.0.0.1:", wantErr: `port ""`},
		{name: "port zero", entry: "10.0.0.1:0", wantErr: `port "0", want a number in 1-65535`},
		{name: "port too big", entry: "10.0.0.1:65536", wantErr: `port "65536"`},
		{name: "port not a number", entry: "10.0.0.1:http", wantErr: `port "http"`},
		{name: "no host", entry: ":2375", wantErr: "has no host"},
		{name: "bad host chars", entry: "no_$hell:2375", wantErr: "neither an IP address nor a host name"},
		{name: "double dot", entry: "a..b:2375", wantErr: "neither an IP address nor a host name"},
		{name: "unspecified", entry: "0.0.0.0:2375", wantErr: "unspecified address"},
		{name: "other scheme", entry: "http://10.0.0.1:2375", wantErr: "unsupported scheme"},
		{name: "backwards range", entry: "10.0.0.[200:10]:2375", wantErr: "goes backwards"},
		{name: "two ranges", entry: "10.0.[1:2].[1:2]:2375", wantErr: "at most one is allowed"},
		{name: "range overflows port", entry: "h:[65535:65536]", wantErr: `expanding "h:[65535:65536]"`},
		{name: "huge range", entry: "h:[1:99999999]", wantErr: "more than 65536"},
		{name: "range number overflow", entry: "h:[1:99999999999999999999999]", wantErr: "too large"},
		{name: "empty", entry: " ", wantErr: "empty entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEntry(tt.entry)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrBadEntry)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseEntriesSortsAndDedups(t *testing.T) {
	got, err := ParseEntries("b:1,a:1, b:1,10.0.0.[1:2]:1")
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.1:1", "10.0.0.2:1", "a:1", "b:1"}, got)
}

func TestParseEntriesRejects(t *testing.T) {
	tests := []struct {
		name, list, wantErr string
	}{
		{name: "stray comma", list: "a:1,,b:1", wantErr: "item 2"},
		{name: "trailing comma", list: "a:1,", wantErr: "item 2"},
		{name: "bad item named", list: "a:1,b", wantErr: `"b" is not host:port`},
		{name: "empty", list: "", wantErr: "empty node list"},
		{name: "too many in total", list: strings.Repeat("h:[1:40000],", 2) + "x:1", wantErr: "more than 65536"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEntries(tt.list)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrBadEntry)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestParseFile(t *testing.T) {
	content := "# engines\n\n10.0.0.2:2375   # rack b\n  10.0.0.1:2375\nnode:[1:2]\n10.0.0.1:2375\n"
	got, err := ParseFile([]byte(content))
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.1:2375", "10.0.0.2:2375", "node:1", "node:2"}, got)

	_, err = ParseFile([]byte("10.0.0.1:2375\n# ok\nbroken\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 3")
	assert.Contains(t, err.Error(), `"broken"`)

	got, err = ParseFile([]byte("# nothing yet\n"))
	require.NoError(t, err)
	assert.Empty(t, got)
}

// FuzzParseEntry checks the parser never panics and that whatever it accepts
// is canonical: every produced address validates to itself and the list is
// sorted without duplicates.
func FuzzParseEntry(f *testing.F) {
	for _, s := range []string{"10.0.0.1:2375", "10.0.0.[10:200]:2375", "host:[2375:2380]",
		"[::1]:2375", "tcp://h:1", "a:1,b:2", "n[01:03]:1", "h:[9:1]", ":", "[1:2]:[3:4]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		addrs, err := ParseEntries(in)
		if err != nil {
			assert.ErrorIs(t, err, ErrBadEntry)
			return
		}
		require.NotEmpty(t, addrs)
		assert.Equal(t, Normalize(addrs), addrs)
		for _, a := range addrs {
			again, err := ValidateAddr(a)
			require.NoError(t, err, "accepted %q from %q", a, in)
			assert.Equal(t, a, again)
		}
	})
}

// FuzzNew checks URL dispatch never panics and errors are typed.
func FuzzNew(f *testing.F) {
	for _, s := range []string{"nodes://a:1,b:2", "a:1", "file://", "token://", "zk://x", "nodes://", "://", "tcp://a:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(in)), "file://") {
			return // touches the file system; covered by table tests
		}
		d, err := New(in, Options{})
		if err != nil {
			assert.True(t, errorsIsAny(err, ErrBadURL, ErrBadEntry), "untyped error %v", err)
			return
		}
		assert.NotNil(t, d)
	})
}

func errorsIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
