package yamlenc_test

import (
	"fmt"

	"github.com/kilnml/kiln/internal/yamlenc"
)

func ExampleOptions_FromJSON() {
	task := `{"name":"square-123","template":"square",` +
		`"arguments":{"parameters":[{"name":"x","value":"123"}]},"depends":"square-122"}`
	in := []byte(`{"tasks":[` + task + `]}`)
	for _, width := range []int{0, 60} {
		out, err := yamlenc.Options{FlowWidth: width}.FromJSON(in)
		if err != nil {
			panic(err)
		}
		fmt.Printf("FlowWidth %d:\n%s", width, out)
	}
	// Output:
	// FlowWidth 0:
	// tasks:
	// - name: square-123
	//   template: square
	//   arguments:
	//     parameters:
	//     - name: x
	//       value: '123'
	//   depends: square-122
	// FlowWidth 60:
	// tasks:
	// - name: square-123
	//   template: square
	//   arguments: {parameters: [{name: x, value: '123'}]}
	//   depends: square-122
}
