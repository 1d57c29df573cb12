package token

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreateParseRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		managers []string
		want     []string
	}{
		{name: "no managers", managers: nil, want: nil},
		{name: "one", managers: []string{"10.0.0.1:7946"}, want: []string{"10.0.0.1:7946"}},
		{name: "sorted deduped", managers: []string{"m2:7946", " m1:7946", "m2:7946"}, want: []string{"m1:7946", "m2:7946"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Create(tt.managers)
			require.NoError(t, err)
			assert.NotContains(t, s, "=", "no padding")
			assert.Equal(t, s, base64.RawURLEncoding.EncodeToString(mustDecode(t, s)), "URL-safe alphabet only")

			tok, err := Parse("token://" + s)
			require.NoError(t, err)
			assert.Equal(t, tt.want, tok.Managers)
			assert.Equal(t, s, tok.String())
			assert.NotEqual(t, [secretLen]byte{}, tok.Secret)
			assert.Len(t, tok.ID(), 2*idLen)
		})
	}
}

func TestCreateIsRandom(t *testing.T) {
	a, err := Create(nil)
	require.NoError(t, err)
	b, err := Create(nil)
	require.NoError(t, err)
	ta, _ := Parse(a)
	tb, _ := Parse(b)
	assert.NotEqual(t, ta.Secret, tb.Secret)
	assert.NotEqual(t, ta.ClusterID, tb.ClusterID)
	assert.NotEqual(t, ta.gossipKey(), tb.gossipKey())
	assert.Len(t, ta.gossipKey(), 32, "AES-256 key")
}

func TestCreateRejects(t *testing.T) {
	_, err := Create([]string{"10.0.0.1"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "manager gossip address")
	assert.Contains(t, err.Error(), `"10.0.0.1" is not host:port`)

	_, err = Create(strings.Split(strings.Repeat("m:1,", maxManagers+1), ",")[:maxManagers+1])
	assert.ErrorIs(t, err, ErrBadToken)
}

func TestParseRejects(t *testing.T) {
	good, err := Create([]string{"10.0.0.1:7946"})
	require.NoError(t, err)
	raw := mustDecode(t, good)
	flipped := append([]byte(nil), raw...)
	flipped[10] ^= 1
	v2raw := mustDecode(t, Token{}.String())
	v2raw[0] = 2
	tests := []struct {
		name, in, wantErr string
	}{
		{name: "empty", in: "", wantErr: "empty token"},
		{name: "prefix only", in: "token://", wantErr: "empty token"},
		{name: "not base64", in: "!!!", wantErr: "not a token"},
		{name: "other scheme", in: "nodes://a:1", wantErr: "is a nodes:// URL, this needs token://TOKEN"},
		{name: "truncated", in: good[:20], wantErr: "too short"},
		{name: "cut at the end", in: good[:len(good)-3], wantErr: "checksum mismatch"},
		{name: "altered", in: base64.RawURLEncoding.EncodeToString(flipped), wantErr: "checksum mismatch"},
		{name: "future version", in: reseal(v2raw), wantErr: "version 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrBadToken)
			assert.Contains(t, err.Error(), tt.wantErr)
			if tt.name != "other scheme" {
				assert.Contains(t, err.Error(), "swarm create")
			}
		})
	}
}

func TestTimingValidate(t *testing.T) {
	tests := []struct {
		name     string
		timing   Timing
		wantErr  string
		wantMult int
	}{
		{name: "default", timing: DefaultTiming(), wantMult: 3},
		{name: "minimum ratio", timing: Timing{Heartbeat: time.Second, TTL: 4 * time.Second}, wantMult: 1},
		{name: "classic-like", timing: Timing{Heartbeat: 20 * time.Second, TTL: 90 * time.Second}, wantMult: 1},
		{name: "long ttl", timing: Timing{Heartbeat: time.Second, TTL: 10 * time.Second}, wantMult: 7},
		{name: "zero heartbeat", timing: Timing{TTL: time.Second}, wantErr: "--heartbeat 0s: must be positive"},
		{name: "ttl not above heartbeat", timing: Timing{Heartbeat: time.Second, TTL: time.Second}, wantErr: "must exceed --heartbeat"},
		{name: "ttl too short", timing: Timing{Heartbeat: time.Second, TTL: 3 * time.Second}, wantErr: "at least 4 × --heartbeat (4s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.timing.Validate()
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantMult, tt.timing.SuspicionMult())
			// The chain probe wait + probe + suspicion fits in the TTL.
			assert.LessOrEqual(t, (3+time.Duration(tt.timing.SuspicionMult()))*tt.timing.Heartbeat, tt.timing.TTL)
		})
	}
}

func TestTimingWithDefaults(t *testing.T) {
	tests := []struct {
		name     string
		in, want Timing
	}{
		{name: "unset", in: Timing{}, want: DefaultTiming()},
		{name: "heartbeat only", in: Timing{Heartbeat: time.Second}, want: Timing{Heartbeat: time.Second, TTL: 6 * time.Second}},
		{name: "ttl only", in: Timing{TTL: 6 * time.Second}, want: Timing{Heartbeat: time.Second, TTL: 6 * time.Second}},
		{name: "both kept", in: Timing{Heartbeat: time.Second, TTL: 2 * time.Second}, want: Timing{Heartbeat: time.Second, TTL: 2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.in.WithDefaults())
		})
	}
}

// FuzzParse checks Parse never panics, only fails with ErrBadToken, and
// that accepted tokens re-encode to themselves.
func FuzzParse(f *testing.F) {
	good, err := Create([]string{"10.0.0.1:7946", "[::1]:7946"})
	require.NoError(f, err)
	for _, s := range []string{good, "token://" + good, "", "AAAA", good[:len(good)-1], "token://token://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		tok, err := Parse(in)
		if err != nil {
			assert.ErrorIs(t, err, ErrBadToken)
			return
		}
		again, err := Parse(tok.String())
		require.NoError(t, err)
		assert.Equal(t, tok, again)
	})
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	require.NoError(t, err)
	return b
}

// reseal recomputes the checksum of a token altered on purpose.
func reseal(raw []byte) string {
	body := append([]byte(nil), raw[:len(raw)-checksumLen]...)
	sum := sha256.Sum256(body)
	return base64.RawURLEncoding.EncodeToString(append(body, sum[:checksumLen]...))
}
