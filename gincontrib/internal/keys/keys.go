// Package keys turns gin-contrib's key pairs into the keys the drop-in
// uses: one 32-byte key per pair, by HKDF-SHA-256.
package keys

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// Size is the length of a derived key.
const Size = 32

// Derive returns one key per pair of keyPairs (hashKey, blockKey; the last
// pair may lack its blockKey): HKDF-SHA-256 (RFC 5869) with no salt, the
// info given, and as input keying material both keys of the pair, each
// preceded by its length as a uvarint. It fails if keyPairs is empty or a
// pair has no hash key.
func Derive(info string, keyPairs [][]byte) ([][]byte, error) {
	if len(keyPairs) == 0 {
		return nil, errors.New("no key pairs: give the ones the program gave gin-contrib")
	}
	var out [][]byte
	for i := 0; i < len(keyPairs); i += 2 {
		hash := keyPairs[i]
		var block []byte
		if i+1 < len(keyPairs) {
			block = keyPairs[i+1]
		}
		if len(hash) == 0 {
			return nil, fmt.Errorf("key pair %d has no hash key", i/2+1)
		}
		ikm := binary.AppendUvarint(nil, uint64(len(hash)))
		ikm = append(ikm, hash...)
		ikm = binary.AppendUvarint(ikm, uint64(len(block)))
		ikm = append(ikm, block...)
		key, err := hkdf.Key(sha256.New, ikm, nil, info, Size)
		if err != nil {
			return nil, err
		}
		out = append(out, key)
	}
	return out, nil
}

// ShortHashKeys returns the numbers (from 1) of the pairs whose hash key
// is shorter than Size bytes: a key derived from one is only as hard to
// guess as it.
func ShortHashKeys(keyPairs [][]byte) []int {
	var short []int
	for i := 0; i < len(keyPairs); i += 2 {
		if len(keyPairs[i]) < Size {
			short = append(short, i/2+1)
		}
	}
	return short
}
