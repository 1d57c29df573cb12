// Package token implements token:// discovery: managers and join agents form
// a gossip cluster with hashicorp/memberlist, encrypted and authenticated
// with a key derived from a secret carried in the token. No outside service
// is involved: the token also carries the gossip addresses of the seed
// managers, so an agent needs nothing but the token and its engine address.
//
// A process without the token can neither join nor read the membership, and
// two clusters never mix: their keys and memberlist labels differ.
package token

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/swarmlab/swarm/discovery"
)

// Sizes of the token's parts. The secret is 256 bits, above the 128-bit
// minimum, so it can be used as an AES-256 key source directly.
const (
	version     = 1
	idLen       = 8
	secretLen   = 32
	checksumLen = 4
	// maxManagers keeps tokens short enough to paste and to fit a command line.
	maxManagers = 16
)

// tokenForm is repeated in token errors so users know where a good one comes from.
const tokenForm = "a token is printed by `swarm create`; copy it whole"

// ErrBadToken is wrapped by every error about a malformed token.
var ErrBadToken = errors.New("bad discovery token")

// Token is a parsed discovery token. Its String form is what users copy.
type Token struct {
	// ClusterID names the cluster in logs and memberlist labels; not secret.
	ClusterID [idLen]byte
	// Secret authenticates and encrypts the gossip; whoever has it is a member.
	Secret [secretLen]byte
	// Managers are the gossip addresses (host:port) of the seed managers
	// agents contact first. It may be empty; agents then need explicit seeds.
	Managers []string
}

// Create returns a new token with a fresh random secret and cluster ID.
// managers are the gossip addresses (host:port, not the Docker API port) of
// the managers agents should contact first; each is validated.
func Create(managers []string) (string, error) {
	t := Token{}
	if len(managers) > maxManagers {
		return "", fmt.Errorf("%w: %d managers given, at most %d fit in a token", ErrBadToken, len(managers), maxManagers)
	}
	for _, m := range managers {
		addr, err := discovery.ValidateAddr(strings.TrimSpace(m))
		if err != nil {
			return "", fmt.Errorf("manager gossip address: %w", err)
		}
		t.Managers = append(t.Managers, addr)
	}
	t.Managers = discovery.Normalize(t.Managers)
	if _, err := rand.Read(t.ClusterID[:]); err != nil {
		return "", fmt.Errorf("generate cluster ID: %w", err)
	}
	if _, err := rand.Read(t.Secret[:]); err != nil {
		return "", fmt.Errorf("generate cluster secret: %w", err)
	}
	return t.String(), nil
}

// String encodes the token as URL-safe base64 (no padding), so it can follow
// token:// unchanged. Layout: version | cluster ID | secret | managers joined
// by ',' | first 4 bytes of SHA-256 of everything before (catches truncated
// or mistyped tokens with a clear error instead of a silent key mismatch).
func (t Token) String() string {
	var b bytes.Buffer
	b.WriteByte(version)
	b.Write(t.ClusterID[:])
	b.Write(t.Secret[:])
	b.WriteString(strings.Join(t.Managers, ","))
	sum := sha256.Sum256(b.Bytes())
	b.Write(sum[:checksumLen])
	return base64.RawURLEncoding.EncodeToString(b.Bytes())
}

// ID is the cluster ID in hex, for logs.
func (t Token) ID() string { return hex.EncodeToString(t.ClusterID[:]) }

// Parse decodes a token, with or without the token:// prefix.
func Parse(s string) (Token, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "token://")
	if i := strings.Index(s, "://"); i >= 0 {
		return Token{}, fmt.Errorf("%w: %q is a %s:// URL, this needs token://TOKEN "+
			"(nodes:// and file:// list engines on the manager side and need no agent)", ErrBadToken, s, s[:i])
	}
	if s == "" {
		return Token{}, fmt.Errorf("%w: empty token: %s", ErrBadToken, tokenForm)
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Token{}, fmt.Errorf("%w: not a token (%v): %s", ErrBadToken, err, tokenForm)
	}
	const fixed = 1 + idLen + secretLen + checksumLen
	if len(raw) < fixed {
		return Token{}, fmt.Errorf("%w: too short, it was probably cut when copied: %s", ErrBadToken, tokenForm)
	}
	body, sum := raw[:len(raw)-checksumLen], raw[len(raw)-checksumLen:]
	want := sha256.Sum256(body)
	if !bytes.Equal(sum, want[:checksumLen]) {
		return Token{}, fmt.Errorf("%w: checksum mismatch, it was altered or cut when copied: %s", ErrBadToken, tokenForm)
	}
	if body[0] != version {
		return Token{}, fmt.Errorf("%w: version %d, this swarm understands version %d: create a new token with `swarm create`",
			ErrBadToken, body[0], version)
	}
	var t Token
	copy(t.ClusterID[:], body[1:1+idLen])
	copy(t.Secret[:], body[1+idLen:1+idLen+secretLen])
	if rest := string(body[1+idLen+secretLen:]); rest != "" {
		for _, m := range strings.Split(rest, ",") {
			addr, err := discovery.ValidateAddr(m)
			if err != nil {
				return Token{}, fmt.Errorf("%w: manager address inside the token: %w", ErrBadToken, err)
			}
			t.Managers = append(t.Managers, addr)
		}
	}
	return t, nil
}

// gossipKey derives the memberlist AES-256 key. The secret is already
// uniformly random, so one domain-separated SHA-256 is a sound KDF here; the
// cluster ID is mixed in so a secret reused by mistake still yields
// different keys for different clusters.
func (t Token) gossipKey() []byte {
	h := sha256.New()
	h.Write([]byte("swarm discovery gossip key v1\x00"))
	h.Write(t.ClusterID[:])
	h.Write(t.Secret[:])
	return h.Sum(nil)
}

// label is memberlist's per-cluster packet label: authenticated (part of the
// AEAD data) and checked on receipt, so packets from another cluster are
// dropped before decryption is even tried.
func (t Token) label() string { return "swarm/" + t.ID() }
