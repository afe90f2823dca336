// Command containers is a pipeline of container components: any image, with a typed interface.
// Placeholders in the command name inputs ({{inputs.words}}, {{inputs.text.path}}) and the
// paths where outputs must be written ({{outputs.count.path}}).
//
//	go run ./examples/containers compile
//	go run ./examples/containers run -p words="to be or not to be"
package main

import (
	"github.com/kilnml/kiln"
	"github.com/kilnml/kiln/dsl"
)

// WriteIn is the input of the write component.
type WriteIn struct {
	Words dsl.Value[string] `description:"words to write, one per line"`
}

// WriteOut is the output of the write component.
type WriteOut struct {
	Text dsl.Value[dsl.Dataset]
}

var write = dsl.Container[WriteIn, WriteOut]("write", dsl.ContainerSpec{
	Image:   "busybox:1.36",
	Command: []string{"sh", "-c", `for w in {{inputs.words}}; do echo "$w"; done > {{outputs.text.path}}`},
})

// CountIn is the input of the count component.
type CountIn struct {
	Text dsl.Value[dsl.Dataset]
}

// CountOut is the output of the count component.
type CountOut struct {
	Lines  dsl.Value[int]
	Unique dsl.Value[int]
}

var count = dsl.Container[CountIn, CountOut]("count", dsl.ContainerSpec{
	Image:   "busybox:1.36",
	Command: []string{"sh", "-c", "wc -l < {{inputs.text.path}} | tr -d ' ' > {{outputs.lines.path}} && sort -u {{inputs.text.path}} | wc -l | tr -d ' ' > {{outputs.unique.path}}"},
}, dsl.CPU("100m", "500m"), dsl.Memory("64Mi", "128Mi"))

// ReportIn is the input of the report component.
type ReportIn struct {
	Lines  dsl.Value[int]
	Unique dsl.Value[int]
}

var report = dsl.Container[ReportIn, struct{}]("report", dsl.ContainerSpec{
	Image:   "busybox:1.36",
	Command: []string{"sh", "-c", "echo {{inputs.lines}} words, {{inputs.unique}} distinct"},
})

// Params are the pipeline's inputs.
type Params struct {
	Words dsl.Value[string] `default:"the quick brown fox jumps over the lazy dog the end"`
}

var pipeline = dsl.NewPipeline("containers", func(s dsl.Scope, in Params) {
	w := write.Task(s, WriteIn{Words: in.Words})
	c := count.Task(s, CountIn{Text: w.Out.Text}, dsl.Retries(2))
	report.Task(s, ReportIn{Lines: c.Out.Lines, Unique: c.Out.Unique})
}, dsl.Description("Counts words with container components."))

func main() { kiln.Main(pipeline) }
