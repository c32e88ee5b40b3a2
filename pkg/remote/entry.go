package remote

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"bethel/pkg/cache"
)

// entry is the body of an action result, /ac/<sha256 of the action key>:
// bethel's own manifest (not Bazel's ActionResult protobuf), plus the
// SHA-256 name under /cas/ of every blob the manifest refers to by its
// BLAKE3 hash. An entry of a private node is stored encrypted with age
// (the body then starts with age's header line), and so are its blobs,
// whose names are then the hashes of their ciphertext: nothing on the
// server, not even a blob's name, is computed from a private value in
// clear.
//
//	{"bethel_remote":1,"manifest":{...},"cas":{"<blake3 hex>":"<sha256 hex>"},"sealed":false}
type entry struct {
	Version  int                   `json:"bethel_remote"`
	Manifest *cache.Manifest       `json:"manifest"`
	CAS      map[cache.Hash]string `json:"cas"`
	// Sealed says the blobs are age-encrypted (the entry was too).
	Sealed bool `json:"sealed"`
}

const entryVersion = 1

// ageHeader starts every age-encrypted body.
var ageHeader = []byte("age-encryption.org/v1\n")

func sealed(body []byte) bool { return bytes.HasPrefix(body, ageHeader) }

// decodeEntry parses and checks an entry body in clear: every blob of the
// manifest has a well-formed CAS name.
func decodeEntry(b []byte) (*entry, error) {
	var e entry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("action entry is not bethel's: %w", err)
	}
	if e.Version != entryVersion {
		return nil, fmt.Errorf("action entry has version %d, this bethel reads %d", e.Version, entryVersion)
	}
	if e.Manifest == nil {
		return nil, errors.New("action entry has no manifest")
	}
	for _, h := range e.Manifest.Blobs() {
		if _, err := parseSHA(e.CAS[h]); err != nil {
			return nil, fmt.Errorf("action entry: blob %s: %w", h.Short(), err)
		}
	}
	return &e, nil
}

// parseSHA checks a SHA-256 name: 64 lowercase hex digits.
func parseSHA(s string) ([32]byte, error) {
	var h [32]byte
	if len(s) != 64 {
		return h, fmt.Errorf("CAS name %q is not 64 hex digits", s)
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil || hex.EncodeToString(h[:]) != s {
		return h, fmt.Errorf("CAS name %q is not lowercase hex", s)
	}
	return h, nil
}
