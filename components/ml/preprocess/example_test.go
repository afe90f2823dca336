package preprocess_test

import (
	"fmt"
	"strings"

	"github.com/kilnml/kiln/components/ml/dataset"
	"github.com/kilnml/kiln/components/ml/preprocess"
)

func ExampleFit() {
	csv := "size,colour,label\n1,red,a\n3,blue,b\n,red,a\n"
	t, _ := dataset.ReadCSV(strings.NewReader(csv), dataset.CSVOptions{})
	tr, err := preprocess.Fit(t, preprocess.Config{Exclude: []string{"label"}, Scaling: preprocess.ScaleMinMax})
	if err != nil {
		panic(err)
	}
	x, _ := tr.Apply(t)
	fmt.Println(tr.OutputNames())
	fmt.Println(x)
	// Output:
	// [size colour=blue colour=red]
	// [[0 0 1] [1 1 0] [0.5 0 1]]
}

func ExampleSplitIndices() {
	labels := []string{"a", "a", "a", "a", "b", "b", "b", "b", "b", "b"}
	idx, _ := preprocess.SplitIndices(len(labels), labels, preprocess.SplitConfig{Train: 0.5, Test: 0.5, Seed: 1})
	fmt.Println(len(idx.Train), len(idx.Validation), len(idx.Test))
	// Output: 5 0 5
}
