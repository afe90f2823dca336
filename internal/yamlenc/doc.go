// Package yamlenc writes JSON-shaped Go values as block-style YAML, fast and
// deterministically.
//
// Kiln's compiler builds typed Argo Workflow objects (Kubernetes-style structs
// with json tags) and must serialize them byte-for-byte reproducibly within a
// tight latency budget: a 5000-task workflow is compiled, validated and
// written in well under 25 ms on a 2-core machine. The usual route,
// sigs.k8s.io/yaml, marshals to JSON, decodes that JSON into a generic tree,
// rebuilds a YAML node tree and emits it; that costs several allocations per
// value and re-sorts every mapping's keys alphabetically, so a Workflow reads
// "apiVersion, kind, metadata, spec" only by luck and its tasks lose the field
// order their Go types declare.
//
// yamlenc keeps the JSON step, because that is where Kubernetes semantics
// live (json tags, omitempty, and the MarshalJSON methods of
// resource.Quantity, intstr.IntOrString, metav1.Time and Argo's own types),
// and replaces everything after it with one streaming pass over the JSON
// bytes. No intermediate map or node tree is built. Object keys are written in
// the order JSON gives them: declaration order for structs and sorted order for
// maps, so the same value always produces the same bytes.
//
// The output follows the kubectl layout: two-space indentation, sequence items
// at the indentation of their parent key, "{}" and "[]" for empty collections
// and "null" for null. Numbers and booleans are copied verbatim.
//
// Strings are the hard part. Any string that a YAML 1.1 or 1.2 reader
// (gopkg.in/yaml.v2, gopkg.in/yaml.v3, and therefore sigs.k8s.io/yaml and
// Argo) could read as something other than that exact string is quoted:
// booleans in either YAML version (yes, off, y, ...), null and "~", anything
// that resembles a number or timestamp (0x1f, 0o17, 1_000, .inf, 2001-12-14),
// leading or trailing blanks, leading indicator characters (including the "{"
// of Argo's "{{inputs.parameters.x}}"), ": " and " #", and every
// non-printable character. Single quotes are used when no escaping is needed,
// double quotes with escapes otherwise. Multi-line printable text without
// trailing blanks is written as a "|" or "|-" literal block so scripts stay
// readable; anything else multi-line is double-quoted. The rules err on the
// side of quoting: a string that needs no quotes may still get them, but a
// string is never left bare when a reader could misinterpret it. A fuzz test
// checks that both sigs.k8s.io/yaml and gopkg.in/yaml.v3 read every output
// back as the original JSON value.
package yamlenc
