package yamlenc

import (
	"bytes"
	"errors"
)

// errNoFlow ends a flow-style attempt: the collection is too wide, holds
// something flow style cannot carry, or is malformed (the block pass that
// follows reports the real error).
var errNoFlow = errors.New("yamlenc: collection not written in flow style")

// maxFlowWidth caps Options.FlowWidth so that 4*width+64 fits an int even on
// 32-bit platforms.
const maxFlowWidth = 1 << 28

// flowLookahead bounds how many bytes of JSON one flow-style attempt may read.
// A flow rendering is rarely shorter than the compact JSON it comes from
// (plain scalars drop two quotes, separators gain a space), so four times the
// width leaves room for escapes and moderate indentation while keeping the
// cost of every attempt, successful or not, proportional to the width.
func flowLookahead(width int) int {
	return 4*width + 64
}

// flowSpecial marks the bytes that end a plain scalar in flow context
// (gopkg.in/yaml.v3 and go.yaml.in/yaml/v2 stop at any of them), so a string
// holding one must be quoted inside a flow collection.
var flowSpecial = func() (t [256]bool) {
	for _, b := range []byte(",?[]{}") {
		t[b] = true
	}
	return t
}()

// classifyFlow picks the style for s inside a flow collection and reports
// whether s may appear there at all: multi-line strings are kept out of flow
// collections so they can be written as readable literal blocks.
func classifyFlow(s []byte) (style, bool) {
	st := classify(s, false)
	switch st {
	case stylePlain:
		for _, b := range s {
			if flowSpecial[b] {
				return styleSingle, true
			}
		}
	case styleDouble:
		if bytes.IndexByte(s, '\n') >= 0 {
			return st, false
		}
	}
	return st, true
}

// tryFlow attempts to write the non-empty collection at c.pos, which the
// caller has entered but not consumed, as a one-line flow collection. It
// succeeds when the rendering fits in c.flowWidth bytes and every scalar and
// key in it can be written in flow context; otherwise it restores the
// converter exactly as it found it and returns false.
func (c *converter) tryFlow(at position) bool {
	if c.flowWidth <= 0 || at == atRoot {
		return false
	}
	in, pos, outLen := c.in, c.pos, len(c.out)
	keys, arena, depth := len(c.keyEnds), len(c.keyArena), c.depth
	if at != afterDash {
		c.out = append(c.out, ' ')
	}
	c.flowEnd = len(c.out) + c.flowWidth
	// Reading a truncated input bounds the look-ahead: any token that would
	// run past the limit is a syntax error here, which abandons the attempt.
	if limit := pos + flowLookahead(c.flowWidth); limit < len(in) {
		c.in = in[:limit]
	}
	err := errNoFlow
	if !surelyWider(c.in[c.pos:], c.flowWidth) {
		if c.in[c.pos] == '{' {
			err = c.flowObject()
		} else {
			err = c.flowArray()
		}
	}
	c.in = in
	if err != nil {
		c.pos, c.out = pos, c.out[:outLen]
		c.keyEnds, c.keyArena, c.depth = c.keyEnds[:keys], c.keyArena[:arena], depth
		return false
	}
	c.out = append(c.out, '\n')
	return true
}

// fits fails the flow attempt once the output passes the width limit.
func (c *converter) fits() error {
	if len(c.out) > c.flowEnd {
		return errNoFlow
	}
	return nil
}

// flowValue writes the JSON value at c.pos in flow context.
func (c *converter) flowValue() error {
	if c.pos >= len(c.in) {
		return errNoFlow
	}
	switch b := c.in[c.pos]; b {
	case '{', '[':
		if err := c.enter(); err != nil {
			return errNoFlow
		}
		var err error
		if b == '{' {
			err = c.flowObject()
		} else {
			err = c.flowArray()
		}
		c.depth--
		return err
	case '"':
		s, err := c.readString()
		if err != nil || len(c.out)+len(s) > c.flowEnd {
			// A scalar is never shorter than its text.
			return errNoFlow
		}
		st, ok := classifyFlow(s)
		if !ok {
			return errNoFlow
		}
		c.writeStyled(s, st)
	case 't':
		return c.flowLiteral("true")
	case 'f':
		return c.flowLiteral("false")
	case 'n':
		return c.flowLiteral("null")
	default:
		start := c.pos
		if err := c.scanNumber(); err != nil {
			return errNoFlow
		}
		c.out = append(c.out, c.in[start:c.pos]...)
	}
	return c.fits()
}

func (c *converter) flowLiteral(word string) error {
	if !bytes.HasPrefix(c.in[c.pos:], []byte(word)) {
		return errNoFlow
	}
	c.pos += len(word)
	c.out = append(c.out, word...)
	return c.fits()
}

// flowObject writes the JSON object at c.pos as "{k: v, ...}".
func (c *converter) flowObject() error {
	c.pos++ // '{'
	c.out = append(c.out, '{')
	c.skipSpace()
	if c.pos < len(c.in) && c.in[c.pos] == '}' {
		c.pos++
		c.out = append(c.out, '}')
		return c.fits()
	}
	keysBase, arenaBase := len(c.keyEnds), len(c.keyArena)
	sorted := true
	var seen map[string]struct{}
	for first := true; ; first = false {
		c.skipSpace()
		if c.pos >= len(c.in) || c.in[c.pos] != '"' {
			return errNoFlow
		}
		key, err := c.readString()
		if err != nil {
			return errNoFlow
		}
		if len(c.out)+len(key) > c.flowEnd {
			return errNoFlow
		}
		if err := c.checkDuplicate(key, keysBase, &sorted, &seen); err != nil {
			return errNoFlow
		}
		st, ok := classifyFlow(key)
		if !ok {
			return errNoFlow
		}
		if !first {
			c.out = append(c.out, ',', ' ')
		}
		keyStart := len(c.out)
		c.writeStyled(key, st)
		if len(c.out)-keyStart > maxImplicitKey {
			// Would need the explicit "? key" form.
			return errNoFlow
		}
		c.out = append(c.out, ':', ' ')
		if err := c.fits(); err != nil {
			return err
		}
		c.skipSpace()
		if c.pos >= len(c.in) || c.in[c.pos] != ':' {
			return errNoFlow
		}
		c.pos++
		c.skipSpace()
		if err := c.flowValue(); err != nil {
			return err
		}
		c.skipSpace()
		if c.pos >= len(c.in) {
			return errNoFlow
		}
		switch c.in[c.pos] {
		case ',':
			c.pos++
			continue
		case '}':
			c.pos++
		default:
			return errNoFlow
		}
		break
	}
	c.keyEnds = c.keyEnds[:keysBase]
	c.keyArena = c.keyArena[:arenaBase]
	c.out = append(c.out, '}')
	return c.fits()
}

// flowArray writes the JSON array at c.pos as "[a, b, ...]".
func (c *converter) flowArray() error {
	c.pos++ // '['
	c.out = append(c.out, '[')
	c.skipSpace()
	if c.pos < len(c.in) && c.in[c.pos] == ']' {
		c.pos++
		c.out = append(c.out, ']')
		return c.fits()
	}
	for first := true; ; first = false {
		c.skipSpace()
		if !first {
			c.out = append(c.out, ',', ' ')
		}
		if err := c.flowValue(); err != nil {
			return err
		}
		c.skipSpace()
		if c.pos >= len(c.in) {
			return errNoFlow
		}
		switch c.in[c.pos] {
		case ',':
			c.pos++
			continue
		case ']':
			c.pos++
		default:
			return errNoFlow
		}
		break
	}
	c.out = append(c.out, ']')
	return c.fits()
}

// surelyWider reports whether the JSON collection at the start of in is
// certain to render wider than width in flow style. It is a cheap scan that
// counts a lower bound on the rendered size (quotes and blanks count nothing,
// an escape counts one byte, ", " and ": " count two) and stops as soon as
// the bound passes width, so failed attempts, the common case for large
// collections, cost little more than reading width bytes. It answers false
// when unsure, including for malformed or truncated input.
func surelyWider(in []byte, width int) bool {
	n, depth := 0, 0
	for i := 0; i < len(in); i++ {
		switch in[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			for i++; i < len(in) && in[i] != '"'; i++ {
				if in[i] == '\\' {
					// One escape decodes to at least one byte; \uXXXX
					// (even half of a surrogate pair) to at least one.
					if i+1 < len(in) && in[i+1] == 'u' {
						i += 5
					} else {
						i++
					}
				}
				n++
			}
		case ',', ':':
			n += 2
		case '{', '[':
			depth++
			n++
		case '}', ']':
			depth--
			n++
			if depth == 0 {
				return n > width
			}
		default:
			n++
		}
		if n > width {
			return true
		}
	}
	return false
}
