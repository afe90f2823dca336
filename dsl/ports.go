package dsl

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"unicode"

	"github.com/kilnml/kiln/internal/ir"
	"github.com/kilnml/kiln/internal/paramcodec"
)

var portType = reflect.TypeFor[port]()

// portNameRE is what a port name must look like: it appears in Argo parameter names and in CEL
// and Argo expressions, so it is restricted to identifier characters.
var portNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// portsOf reads the ports of an In or Out struct type. Each exported field must be a Value[T];
// its name comes from the `kiln` tag or the field name in snake_case, its default from the
// `default` tag and its description from the `description` tag. `kiln:",optional"` marks an input
// that may be left unset.
func portsOf(t reflect.Type) ([]ir.Port, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%s is not a struct", t)
	}
	var ports []ir.Port
	seen := map[string]string{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if !reflect.PointerTo(f.Type).Implements(portType) {
			return nil, fmt.Errorf("field %s.%s has type %s: fields of component inputs and outputs must be dsl.Value[T]", t.Name(), f.Name, f.Type)
		}
		name, opts, _ := strings.Cut(f.Tag.Get("kiln"), ",")
		if name == "" {
			name = snakeCase(f.Name)
		}
		if name == "-" {
			continue
		}
		if !portNameRE.MatchString(name) {
			return nil, fmt.Errorf("field %s.%s: port name %q must match %s", t.Name(), f.Name, name, portNameRE)
		}
		if prev, dup := seen[name]; dup {
			return nil, fmt.Errorf("fields %s and %s of %s both have port name %q", prev, f.Name, t.Name(), name)
		}
		seen[name] = f.Name
		goT := reflect.New(f.Type).Interface().(port).goType()
		pt, err := typeOf(goT)
		if err != nil {
			return nil, fmt.Errorf("field %s.%s: %w", t.Name(), f.Name, err)
		}
		p := ir.Port{
			Name:        name,
			Description: f.Tag.Get("description"),
			Type:        pt,
			Optional:    opts == "optional",
			Field:       f.Index,
		}
		if def, ok := f.Tag.Lookup("default"); ok {
			if pt.IsArtifact() {
				return nil, fmt.Errorf("field %s.%s: artifacts cannot have a default", t.Name(), f.Name)
			}
			// Parse and re-encode so the default is checked now and stored canonically.
			v, err := paramcodec.Decode(def, goT)
			if err != nil {
				return nil, fmt.Errorf("field %s.%s: default: %w", t.Name(), f.Name, err)
			}
			enc, err := paramcodec.Encode(v)
			if err != nil {
				return nil, fmt.Errorf("field %s.%s: default: %w", t.Name(), f.Name, err)
			}
			p.Default = &enc
		}
		ports = append(ports, p)
	}
	return ports, nil
}

// fieldPort returns the port interface of the struct field at index in the addressable struct v.
func fieldPort(v reflect.Value, index []int) port {
	return v.FieldByIndex(index).Addr().Interface().(port)
}

// snakeCase turns a Go field name into a port name: LearningRate → learning_rate, LR → lr,
// HTTPPort → http_port.
func snakeCase(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) ||
				(i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1]))) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
