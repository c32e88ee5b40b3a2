// Package cache is bethel's content-addressed store: one hash function
// (BLAKE3-256), one key type, and the on-disk store that maps action keys to
// output manifests and manifests to blobs. It knows no other bethel package.
package cache

import (
	"encoding/hex"
	"fmt"
	"io"

	"github.com/zeebo/blake3"
)

// Hash is a BLAKE3-256 digest. It is a value type so that it can be a map
// key and compared with ==; the zero Hash means "no content" (a missing
// file), never the hash of anything.
type Hash [32]byte

// Sum hashes b.
func Sum(b []byte) Hash { return Hash(blake3.Sum256(b)) }

// String is the full lowercase hex form used on disk and in manifests.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Short is the 12-hex-digit prefix shown to people (--explain, errors).
func (h Hash) Short() string { return hex.EncodeToString(h[:6]) }

// IsZero reports whether h is the zero Hash.
func (h Hash) IsZero() bool { return h == Hash{} }

// MarshalText and UnmarshalText make Hash usable in JSON and TOML as hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

func (h *Hash) UnmarshalText(b []byte) error {
	p, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = p
	return nil
}

// ParseHash parses the full hex form.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 64 {
		return h, fmt.Errorf("hash %q: want 64 hex digits, have %d", s, len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("hash %q: %w", s, err)
	}
	return h, nil
}

// Hasher is a streaming hasher; Sum returns the digest of what was written.
type Hasher struct{ h *blake3.Hasher }

// NewHasher returns an empty streaming hasher.
func NewHasher() *Hasher { return &Hasher{h: blake3.New()} }

func (x *Hasher) Write(p []byte) (int, error) { return x.h.Write(p) }

// Sum returns the digest of everything written so far.
func (x *Hasher) Sum() Hash {
	var h Hash
	x.h.Digest().Read(h[:])
	return h
}

// HashReader hashes everything r yields and reports how many bytes it read.
func HashReader(r io.Reader) (Hash, int64, error) {
	x := NewHasher()
	n, err := io.Copy(x, r)
	if err != nil {
		return Hash{}, n, err
	}
	return x.Sum(), n, nil
}

// HashFile hashes the file at path.
func HashFile(path string) (Hash, int64, error) {
	f, err := OpenPlain(path)
	if err != nil {
		return Hash{}, 0, err
	}
	defer f.Close()
	return HashReader(f)
}
