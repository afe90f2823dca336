package yamlenc

import (
	"bytes"
	"fmt"
)

// position says where the cursor stands when a value starts, which decides how
// collections and scalars are laid out.
type position uint8

const (
	// atRoot: at the start of the document.
	atRoot position = iota
	// afterKey: right after "key:" on the key's line.
	afterKey
	// afterDash: right after "- " on the item's line.
	afterDash
	// afterExplicitColon: right after the ":" that follows a "? key" line.
	afterExplicitColon
)

// maxImplicitKey bounds the encoded length of a key written as "key: value".
// YAML readers (libyaml and its Go ports) refuse implicit keys longer than
// 1024 characters; longer keys use the explicit "? key" form.
const maxImplicitKey = 1000

// converter streams one JSON value from in to YAML appended to out.
type converter struct {
	in  []byte
	pos int
	out []byte

	// scratch holds the decoded form of a string that contained escapes or
	// non-ASCII bytes; strings without them are used in place.
	scratch []byte

	// keyArena and keyEnds record the decoded keys of every open object so
	// duplicates can be found without allocating per key; each object
	// remembers where its own keys begin.
	keyArena []byte
	keyEnds  []int

	depth int

	// flowWidth is Options.FlowWidth; flowEnd is the output length a flow
	// collection being tried must not pass.
	flowWidth int
	flowEnd   int
}

func (c *converter) document() error {
	c.skipSpace()
	if c.pos >= len(c.in) {
		return c.syntaxErr("empty input")
	}
	if err := c.value(atRoot, 0); err != nil {
		return err
	}
	c.skipSpace()
	if c.pos != len(c.in) {
		return c.syntaxErr("unexpected data after top-level value")
	}
	return nil
}

func (c *converter) syntaxErr(format string, args ...any) error {
	return &SyntaxError{Offset: c.pos, msg: fmt.Sprintf(format, args...)}
}

func (c *converter) skipSpace() {
	for c.pos < len(c.in) {
		switch c.in[c.pos] {
		case ' ', '\t', '\n', '\r':
			c.pos++
		default:
			return
		}
	}
}

// value converts the JSON value at c.pos. indent is the column of the key
// (afterKey, afterExplicitColon) or dash (afterDash) that introduced it.
func (c *converter) value(at position, indent int) error {
	if c.pos >= len(c.in) {
		return c.syntaxErr("unexpected end of input")
	}
	switch b := c.in[c.pos]; b {
	case '{':
		return c.object(at, indent)
	case '[':
		return c.array(at, indent)
	case '"':
		s, err := c.readString()
		if err != nil {
			return err
		}
		c.stringScalar(s, at, indent)
		return nil
	case 't':
		return c.literal("true", at)
	case 'f':
		return c.literal("false", at)
	case 'n':
		return c.literal("null", at)
	default:
		if b == '-' || (b >= '0' && b <= '9') {
			start := c.pos
			if err := c.scanNumber(); err != nil {
				return err
			}
			c.rawScalar(c.in[start:c.pos], at)
			return nil
		}
		return c.syntaxErr("invalid character %q looking for beginning of value", b)
	}
}

func (c *converter) literal(word string, at position) error {
	if !bytes.HasPrefix(c.in[c.pos:], []byte(word)) {
		return c.syntaxErr("invalid literal, expected %q", word)
	}
	c.pos += len(word)
	c.rawScalar(c.in[c.pos-len(word):c.pos], at)
	return nil
}

// rawScalar writes a scalar that needs no quoting (number, boolean, null,
// or an already-quoted string) followed by a line break.
func (c *converter) rawScalar(s []byte, at position) {
	if at == afterKey || at == afterExplicitColon {
		c.out = append(c.out, ' ')
	}
	c.out = append(c.out, s...)
	c.out = append(c.out, '\n')
}

func (c *converter) enter() error {
	c.depth++
	if c.depth > maxDepth {
		return c.syntaxErr("exceeded max depth of %d", maxDepth)
	}
	return nil
}

// emptyCollection reports whether the collection opened at c.pos closes
// immediately; if so it consumes it.
func (c *converter) emptyCollection(closer byte) bool {
	save := c.pos
	c.pos++
	c.skipSpace()
	if c.pos < len(c.in) && c.in[c.pos] == closer {
		c.pos++
		return true
	}
	c.pos = save
	return false
}

func (c *converter) object(at position, indent int) error {
	if err := c.enter(); err != nil {
		return err
	}
	if c.emptyCollection('}') {
		c.rawScalar([]byte("{}"), at)
		c.depth--
		return nil
	}
	if c.tryFlow(at) {
		c.depth--
		return nil
	}
	c.pos++ // '{'

	// Lay out the entries: inline means the first key continues the current
	// line (after "- "), otherwise every key starts a fresh indented line.
	inline := false
	switch at {
	case atRoot:
		indent = 0
	case afterKey, afterExplicitColon:
		c.out = append(c.out, '\n')
		indent += 2
	case afterDash:
		inline = true
		indent += 2
	}

	keysBase := len(c.keyEnds)
	arenaBase := len(c.keyArena)
	sorted := true
	var seen map[string]struct{}
	for first := true; ; first = false {
		c.skipSpace()
		if c.pos >= len(c.in) || c.in[c.pos] != '"' {
			return c.syntaxErr("expected string for object key")
		}
		key, err := c.readString()
		if err != nil {
			return err
		}
		if err := c.checkDuplicate(key, keysBase, &sorted, &seen); err != nil {
			return err
		}
		c.skipSpace()
		if c.pos >= len(c.in) || c.in[c.pos] != ':' {
			return c.syntaxErr("expected ':' after object key")
		}
		c.pos++
		c.skipSpace()

		if !first || !inline {
			c.writeIndent(indent)
		}
		keyStart := len(c.out)
		c.writeKey(key)
		valueAt := afterKey
		if len(c.out)-keyStart > maxImplicitKey {
			// Rewrite as an explicit key: "? key" then ":" on its own line.
			keyText := append([]byte(nil), c.out[keyStart:]...)
			c.out = append(c.out[:keyStart], '?', ' ')
			c.out = append(c.out, keyText...)
			c.out = append(c.out, '\n')
			c.writeIndent(indent)
			valueAt = afterExplicitColon
		}
		c.out = append(c.out, ':')
		if err := c.value(valueAt, indent); err != nil {
			return err
		}

		c.skipSpace()
		if c.pos >= len(c.in) {
			return c.syntaxErr("unexpected end of input in object")
		}
		switch c.in[c.pos] {
		case ',':
			c.pos++
			continue
		case '}':
			c.pos++
		default:
			return c.syntaxErr("expected ',' or '}' after object value")
		}
		break
	}
	c.keyEnds = c.keyEnds[:keysBase]
	c.keyArena = c.keyArena[:arenaBase]
	c.depth--
	return nil
}

// checkDuplicate records key among the keys of the object whose keys start at
// keysBase and fails if it was already there. Objects whose keys arrive in
// strictly increasing order (every Go map, many structs' prefixes) need one
// comparison per key; others scan linearly and, past a few dozen keys, switch
// to a map.
func (c *converter) checkDuplicate(key []byte, keysBase int, sorted *bool, seen *map[string]struct{}) error {
	n := len(c.keyEnds) - keysBase
	if n > 0 {
		prevStart := c.keyStart(len(c.keyEnds) - 1)
		prev := c.keyArena[prevStart:c.keyEnds[len(c.keyEnds)-1]]
		if *sorted && bytes.Compare(prev, key) < 0 {
			// Still strictly increasing, so key cannot repeat an earlier one.
		} else {
			*sorted = false
			dup := false
			switch {
			case *seen != nil:
				_, dup = (*seen)[string(key)]
			case n <= 32:
				for i := keysBase; i < len(c.keyEnds); i++ {
					if bytes.Equal(c.keyArena[c.keyStart(i):c.keyEnds[i]], key) {
						dup = true
						break
					}
				}
			default:
				m := make(map[string]struct{}, 2*n)
				for i := keysBase; i < len(c.keyEnds); i++ {
					m[string(c.keyArena[c.keyStart(i):c.keyEnds[i]])] = struct{}{}
				}
				*seen = m
				_, dup = m[string(key)]
			}
			if dup {
				return fmt.Errorf("%w %q before offset %d", ErrDuplicateKey, key, c.pos)
			}
		}
		if *seen != nil {
			(*seen)[string(key)] = struct{}{}
		}
	}
	c.keyArena = append(c.keyArena, key...)
	c.keyEnds = append(c.keyEnds, len(c.keyArena))
	return nil
}

func (c *converter) keyStart(i int) int {
	if i == 0 {
		return 0
	}
	return c.keyEnds[i-1]
}

func (c *converter) array(at position, indent int) error {
	if err := c.enter(); err != nil {
		return err
	}
	if c.emptyCollection(']') {
		c.rawScalar([]byte("[]"), at)
		c.depth--
		return nil
	}
	if c.tryFlow(at) {
		c.depth--
		return nil
	}
	c.pos++ // '['

	inline := false
	switch at {
	case atRoot:
		indent = 0
	case afterKey:
		// kubectl layout: items sit at the key's own indentation.
		c.out = append(c.out, '\n')
	case afterExplicitColon:
		c.out = append(c.out, '\n')
		indent += 2
	case afterDash:
		inline = true
		indent += 2
	}

	for first := true; ; first = false {
		c.skipSpace()
		if !first || !inline {
			c.writeIndent(indent)
		}
		c.out = append(c.out, '-', ' ')
		if err := c.value(afterDash, indent); err != nil {
			return err
		}
		c.skipSpace()
		if c.pos >= len(c.in) {
			return c.syntaxErr("unexpected end of input in array")
		}
		switch c.in[c.pos] {
		case ',':
			c.pos++
			continue
		case ']':
			c.pos++
		default:
			return c.syntaxErr("expected ',' or ']' after array element")
		}
		break
	}
	c.depth--
	return nil
}

const spaces = "                                                                " +
	"                                                                "

func (c *converter) writeIndent(n int) {
	for n > len(spaces) {
		c.out = append(c.out, spaces...)
		n -= len(spaces)
	}
	c.out = append(c.out, spaces[:n]...)
}
