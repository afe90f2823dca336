package yamlenc

import (
	"unicode/utf16"
	"unicode/utf8"
)

// plainJSONByte marks bytes that may appear in a JSON string and be used as-is:
// everything except the closing quote, backslash, control characters and
// non-ASCII bytes (which must be checked for valid UTF-8).
var plainJSONByte = func() (t [256]bool) {
	for b := 0x20; b < 0x80; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// readString consumes the JSON string at c.pos and returns its decoded bytes.
// The result aliases either the input or c.scratch and is valid until the next
// call. Invalid UTF-8 and unpaired surrogates become U+FFFD, as in
// encoding/json.
func (c *converter) readString() ([]byte, error) {
	c.pos++ // opening quote
	start := c.pos
	in := c.in
	i := start
	for i < len(in) && plainJSONByte[in[i]] {
		i++
	}
	if i < len(in) && in[i] == '"' {
		c.pos = i + 1
		return in[start:i], nil
	}
	// Slow path: escapes, non-ASCII or an error.
	buf := append(c.scratch[:0], in[start:i]...)
	for {
		if i >= len(in) {
			c.pos = i
			return nil, c.syntaxErr("unexpected end of input in string")
		}
		b := in[i]
		switch {
		case b == '"':
			c.pos = i + 1
			c.scratch = buf
			return buf, nil
		case b == '\\':
			if i+1 >= len(in) {
				c.pos = i
				return nil, c.syntaxErr("unexpected end of input in string escape")
			}
			i++
			switch e := in[i]; e {
			case '"', '\\', '/':
				buf = append(buf, e)
				i++
			case 'b':
				buf = append(buf, '\b')
				i++
			case 'f':
				buf = append(buf, '\f')
				i++
			case 'n':
				buf = append(buf, '\n')
				i++
			case 'r':
				buf = append(buf, '\r')
				i++
			case 't':
				buf = append(buf, '\t')
				i++
			case 'u':
				r, ok := hex4(in, i+1)
				if !ok {
					c.pos = i
					return nil, c.syntaxErr("invalid \\u escape in string")
				}
				i += 5
				if utf16.IsSurrogate(r) {
					// Mirror encoding/json: consume a following escape only if
					// it completes a valid pair.
					hi := r
					r = utf8.RuneError
					if i+1 < len(in) && in[i] == '\\' && in[i+1] == 'u' {
						if r2, ok := hex4(in, i+2); ok {
							if dec := utf16.DecodeRune(hi, r2); dec != utf8.RuneError {
								r = dec
								i += 6
							}
						}
					}
				}
				buf = utf8.AppendRune(buf, r)
			default:
				c.pos = i
				return nil, c.syntaxErr("invalid escape character %q in string", e)
			}
		case b < 0x20:
			c.pos = i
			return nil, c.syntaxErr("invalid control character %#x in string", b)
		case b < utf8.RuneSelf:
			buf = append(buf, b)
			i++
		default:
			r, size := utf8.DecodeRune(in[i:])
			if r == utf8.RuneError && size == 1 {
				buf = utf8.AppendRune(buf, utf8.RuneError)
			} else {
				buf = append(buf, in[i:i+size]...)
			}
			i += size
		}
	}
}

// hex4 decodes the four hex digits at in[i:i+4].
func hex4(in []byte, i int) (rune, bool) {
	if i+4 > len(in) {
		return 0, false
	}
	var r rune
	for _, b := range in[i : i+4] {
		switch {
		case b >= '0' && b <= '9':
			b -= '0'
		case b >= 'a' && b <= 'f':
			b = b - 'a' + 10
		case b >= 'A' && b <= 'F':
			b = b - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(b)
	}
	return r, true
}

// scanNumber consumes a JSON number at c.pos, enforcing the JSON grammar
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? so that only text every YAML
// reader resolves as a number is copied through.
func (c *converter) scanNumber() error {
	in := c.in
	i := c.pos
	if i < len(in) && in[i] == '-' {
		i++
	}
	switch {
	case i < len(in) && in[i] == '0':
		i++
	case i < len(in) && in[i] >= '1' && in[i] <= '9':
		for i < len(in) && isDigit(in[i]) {
			i++
		}
	default:
		c.pos = i
		return c.syntaxErr("invalid number")
	}
	if i < len(in) && in[i] == '.' {
		i++
		if i >= len(in) || !isDigit(in[i]) {
			c.pos = i
			return c.syntaxErr("invalid number: no digits after decimal point")
		}
		for i < len(in) && isDigit(in[i]) {
			i++
		}
	}
	if i < len(in) && (in[i] == 'e' || in[i] == 'E') {
		i++
		if i < len(in) && (in[i] == '+' || in[i] == '-') {
			i++
		}
		if i >= len(in) || !isDigit(in[i]) {
			c.pos = i
			return c.syntaxErr("invalid number: no digits in exponent")
		}
		for i < len(in) && isDigit(in[i]) {
			i++
		}
	}
	c.pos = i
	return nil
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }
