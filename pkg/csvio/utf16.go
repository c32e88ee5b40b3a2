package csvio

import (
	"bufio"
	"errors"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// utf16Reader turns UTF-16 text into UTF-8. Excel's "Unicode Text" save
// and some form platforms write UTF-16 with a byte order mark, which is
// how NewReader recognizes it; the byte order mark itself has already
// been read.
type utf16Reader struct {
	r         *bufio.Reader
	bigEndian bool
	out       []byte // decoded, not yet returned
	err       error
}

// errUTF16 is returned for text no UTF-16 writer produces: half a code
// unit at the end, or a surrogate without its pair.
var errUTF16 = errors.New("the file is not valid UTF-16 text (it starts with a UTF-16 byte order mark); re-save it as \"CSV UTF-8\"")

func (u *utf16Reader) Read(p []byte) (int, error) {
	for len(u.out) == 0 && u.err == nil {
		u.fill()
	}
	if len(u.out) == 0 {
		return 0, u.err
	}
	n := copy(p, u.out)
	u.out = u.out[n:]
	return n, nil
}

// fill decodes up to a few thousand code units into u.out.
func (u *utf16Reader) fill() {
	u.out = u.out[:0]
	for i := 0; i < 4096; i++ {
		c, err := u.unit()
		if err != nil {
			u.err = err
			return
		}
		r := rune(c)
		if utf16.IsSurrogate(r) {
			c2, err := u.unit()
			if err == io.EOF {
				err = errUTF16
			}
			if err != nil {
				u.err = err
				return
			}
			r = utf16.DecodeRune(r, rune(c2))
			if r == utf8.RuneError {
				u.err = errUTF16
				return
			}
		}
		u.out = utf8.AppendRune(u.out, r)
	}
}

// unit reads one code unit; io.EOF only at a unit boundary.
func (u *utf16Reader) unit() (uint16, error) {
	a, err := u.r.ReadByte()
	if err != nil {
		return 0, err
	}
	b, err := u.r.ReadByte()
	if err == io.EOF {
		return 0, errUTF16
	}
	if err != nil {
		return 0, err
	}
	if u.bigEndian {
		return uint16(a)<<8 | uint16(b), nil
	}
	return uint16(b)<<8 | uint16(a), nil
}
