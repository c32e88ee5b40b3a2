package cache

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
)

// bethel's append-only logs (the cache's action log, the engine's journal)
// frame every record the same way: the record's tab-separated fields, a tab,
// the CRC-32 (IEEE) of everything before that tab as 8 hex digits, and a
// newline. A line torn by a crash fails its checksum and is ignored.

// ChecksumTail is what closes the record rec in a log: a tab, the
// checksum of rec and a newline.
func ChecksumTail(rec []byte) []byte {
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc32.ChecksumIEEE(rec))
	tail := make([]byte, 0, 10)
	tail = append(tail, '\t')
	tail = hex.AppendEncode(tail, sum[:])
	return append(tail, '\n')
}

// CheckLine returns the record of one log line (without its newline) when
// its checksum holds.
func CheckLine(line []byte) ([]byte, bool) {
	k := bytes.LastIndexByte(line, '\t')
	if k < 0 || len(line)-k-1 != 8 {
		return nil, false
	}
	var sum [4]byte
	if _, err := hex.Decode(sum[:], line[k+1:]); err != nil || binary.BigEndian.Uint32(sum[:]) != crc32.ChecksumIEEE(line[:k]) {
		return nil, false
	}
	return line[:k], true
}
