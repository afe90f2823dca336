package yamlenc

import (
	"bytes"
	"unicode/utf8"
)

// style is how a string is written as a YAML scalar.
type style uint8

const (
	stylePlain   style = iota // bare: name
	styleSingle               // 'single quoted', no escapes possible
	styleDouble               // "double quoted\twith escapes"
	styleLiteral              // |- literal block, one source line per line
)

// Byte classes for the string scan; everything not listed is an ordinary
// printable ASCII character.
const (
	bOrdinary = iota
	bColon
	bHash
	bTab
	bNewline
	bControl // other C0 controls, CR and DEL: only double quotes can carry them
	bHigh    // start of a multi-byte UTF-8 sequence
)

var byteClass = func() (t [256]uint8) {
	for b := 0; b < 0x20; b++ {
		t[b] = bControl
	}
	t[0x7f] = bControl
	for b := 0x80; b < 0x100; b++ {
		t[b] = bHigh
	}
	t[':'] = bColon
	t['#'] = bHash
	t['\t'] = bTab
	t['\n'] = bNewline
	return t
}()

// numberish holds every character that can occur in something a YAML 1.1 or
// 1.2 reader resolves as an int, float, infinity, NaN, sexagesimal number or
// timestamp. A string starting (after an optional sign) with a digit or dot
// and made only of these characters is quoted. That quotes some harmless
// strings such as 1.2.3, which is the safe direction to err in.
var numberish = func() (t [256]bool) {
	for _, b := range []byte("0123456789abcdefABCDEFxXoO_.:+-tTzZiInN ") {
		t[b] = true
	}
	return t
}()

// printableRune reports whether a non-ASCII rune may appear unescaped in a
// YAML scalar: YAML's printable set minus the line breaks NEL, LS and PS
// (which YAML readers fold) and the byte order mark.
func printableRune(r rune) bool {
	switch {
	case r >= 0xA0 && r <= 0xD7FF:
		return r != 0x2028 && r != 0x2029
	case r >= 0xE000 && r <= 0xFFFD:
		return r != 0xFEFF
	default:
		return r >= 0x10000 && r <= utf8.MaxRune
	}
}

// classify picks the plainest style that every YAML reader reads back as
// exactly s. Literal blocks are offered only where allowLiteral is set
// (never for keys).
func classify(s []byte, allowLiteral bool) style {
	if len(s) == 0 {
		return styleSingle
	}
	var hasNewline, hasTab, nonPrintable, plainUnsafe bool
	for i := 0; i < len(s); {
		// Most bytes are ordinary; skip runs of them without the switch.
		for byteClass[s[i]] == bOrdinary {
			if i++; i == len(s) {
				goto scanned
			}
		}
		switch byteClass[s[i]] {
		case bColon:
			// ": " and a trailing ":" end a plain key.
			if i+1 == len(s) || s[i+1] == ' ' {
				plainUnsafe = true
			}
		case bHash:
			// " #" starts a comment.
			if i > 0 && s[i-1] == ' ' {
				plainUnsafe = true
			}
		case bTab:
			hasTab = true
		case bNewline:
			hasNewline = true
		case bControl:
			nonPrintable = true
		case bHigh:
			r, size := utf8.DecodeRune(s[i:])
			if (r == utf8.RuneError && size == 1) || !printableRune(r) {
				nonPrintable = true
			}
			i += size
			continue
		}
		i++
	}
scanned:
	switch {
	case hasNewline:
		if allowLiteral && !nonPrintable && literalOK(s) {
			return styleLiteral
		}
		return styleDouble
	case nonPrintable || hasTab:
		return styleDouble
	case plainUnsafe || s[0] == ' ' || s[len(s)-1] == ' ' || !plainStart(s) || ambiguous(s):
		return styleSingle
	}
	return stylePlain
}

// plainStart reports whether s may begin a plain scalar: it must not start
// with a YAML indicator or a document marker. A dash is allowed when followed
// by a non-blank, so command-line flags such as --verbose stay bare.
func plainStart(s []byte) bool {
	switch s[0] {
	case '-':
		return len(s) > 1 && s[1] != ' ' && !bytes.HasPrefix(s, []byte("---"))
	case '.':
		return !bytes.HasPrefix(s, []byte("..."))
	case '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		return false
	}
	return true
}

// ambiguous reports whether a plain s would resolve to a non-string in YAML
// 1.1 or 1.2: a boolean, null, merge key, number or timestamp.
func ambiguous(s []byte) bool {
	if len(s) <= 5 {
		var lower [5]byte
		for i, b := range s {
			if b >= 'A' && b <= 'Z' {
				b += 'a' - 'A'
			}
			lower[i] = b
		}
		switch string(lower[:len(s)]) {
		case "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "<<", "=":
			return true
		}
	}
	i := 0
	if s[0] == '+' || s[0] == '-' {
		i = 1
	}
	if i >= len(s) || !(isDigit(s[i]) || s[i] == '.') {
		return false
	}
	for _, b := range s {
		if !numberish[b] {
			return false
		}
	}
	return true
}

// literalOK reports whether multi-line s survives a "|" or "|-" block
// unchanged: at least one non-empty line, no blank or tab leading the first
// non-empty line (it would be taken as indentation), no trailing blanks on
// any line (editors strip them), and at most one final newline (more would
// need "|+", which keeps trailing lines but reads poorly).
func literalOK(s []byte) bool {
	body := s
	if body[len(body)-1] == '\n' {
		body = body[:len(body)-1]
		if len(body) == 0 || body[len(body)-1] == '\n' {
			return false
		}
	}
	seenContent := false
	for {
		line, rest, more := bytes.Cut(body, []byte{'\n'})
		if len(line) > 0 {
			if !seenContent && (line[0] == ' ' || line[0] == '\t') {
				return false
			}
			if last := line[len(line)-1]; last == ' ' || last == '\t' {
				return false
			}
			seenContent = true
		}
		if !more {
			break
		}
		body = rest
	}
	return seenContent
}

// stringScalar writes s as a value at the given position, ending the line.
func (c *converter) stringScalar(s []byte, at position, indent int) {
	st := classify(s, true)
	if at == afterKey || at == afterExplicitColon {
		c.out = append(c.out, ' ')
	}
	if st == styleLiteral {
		if at == atRoot {
			indent = 0
		}
		c.writeLiteral(s, indent+2)
		return
	}
	c.writeStyled(s, st)
	c.out = append(c.out, '\n')
}

// writeKey writes s as a mapping key, without the colon.
func (c *converter) writeKey(s []byte) {
	c.writeStyled(s, classify(s, false))
}

func (c *converter) writeStyled(s []byte, st style) {
	switch st {
	case stylePlain:
		c.out = append(c.out, s...)
	case styleSingle:
		c.out = append(c.out, '\'')
		for {
			j := bytes.IndexByte(s, '\'')
			if j < 0 {
				break
			}
			c.out = append(c.out, s[:j+1]...)
			c.out = append(c.out, '\'')
			s = s[j+1:]
		}
		c.out = append(c.out, s...)
		c.out = append(c.out, '\'')
	default:
		c.writeDouble(s)
	}
}

const hexDigits = "0123456789ABCDEF"

func (c *converter) writeDouble(s []byte) {
	out := append(c.out, '"')
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			switch {
			case b == '"':
				out = append(out, '\\', '"')
			case b == '\\':
				out = append(out, '\\', '\\')
			case b == '\n':
				out = append(out, '\\', 'n')
			case b == '\t':
				out = append(out, '\\', 't')
			case b == '\r':
				out = append(out, '\\', 'r')
			case b < 0x20 || b == 0x7f:
				out = append(out, '\\', 'x', hexDigits[b>>4], hexDigits[b&0xf])
			default:
				out = append(out, b)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = append(out, `\uFFFD`...)
		case printableRune(r):
			out = append(out, s[i:i+size]...)
		case r <= 0xFF:
			out = append(out, '\\', 'x', hexDigits[r>>4], hexDigits[r&0xf])
		case r <= 0xFFFF:
			out = append(out, '\\', 'u')
			out = appendHex(out, r, 4)
		default:
			out = append(out, '\\', 'U')
			out = appendHex(out, r, 8)
		}
		i += size
	}
	c.out = append(out, '"')
}

func appendHex(out []byte, r rune, digits int) []byte {
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		out = append(out, hexDigits[(r>>shift)&0xf])
	}
	return out
}

// writeLiteral writes a block literal header (the caller has written any
// separating space) and s's lines indented by indent.
func (c *converter) writeLiteral(s []byte, indent int) {
	body := s
	if body[len(body)-1] == '\n' {
		body = body[:len(body)-1]
		c.out = append(c.out, '|', '\n')
	} else {
		c.out = append(c.out, '|', '-', '\n')
	}
	for {
		line, rest, more := bytes.Cut(body, []byte{'\n'})
		if len(line) > 0 {
			c.writeIndent(indent)
			c.out = append(c.out, line...)
		}
		c.out = append(c.out, '\n')
		if !more {
			return
		}
		body = rest
	}
}
