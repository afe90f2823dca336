package model_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/kilnml/kiln/components/ml/dataset"
	"github.com/kilnml/kiln/components/ml/model"
	"github.com/kilnml/kiln/components/ml/model/linear"
	"github.com/kilnml/kiln/components/ml/preprocess"
)

// Example shows the train → save → load → serve path that the ready components wrap.
func Example() {
	csv := "hours,level,passed\n1,basic,no\n2,basic,no\n3,advanced,no\n4,basic,yes\n5,advanced,yes\n6,advanced,yes\n"
	t, _ := dataset.ReadCSV(strings.NewReader(csv), dataset.CSVOptions{})
	m, err := model.Train(t, model.TrainConfig{
		Kind:       model.LogisticRegression,
		Target:     "passed",
		Preprocess: preprocess.Config{Scaling: preprocess.ScaleStandard},
		Linear:     linear.Config{L2: 0.01},
	})
	if err != nil {
		panic(err)
	}
	var artifact bytes.Buffer
	if err := m.Save(&artifact); err != nil {
		panic(err)
	}
	served, err := model.Load(&artifact)
	if err != nil {
		panic(err)
	}
	p, err := served.PredictRecords([]map[string]any{{"hours": 0.5, "level": "basic"}, {"hours": 7.0, "level": "advanced"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(served.Kind, served.Features, served.Classes)
	fmt.Println(p.Labels)
	// Output:
	// logistic_regression [hours level] [no yes]
	// [no yes]
}

func ExampleEvaluate() {
	csv := "x,y\n0,1\n1,3\n2,5\n3,7\n"
	t, _ := dataset.ReadCSV(strings.NewReader(csv), dataset.CSVOptions{})
	m, _ := model.Train(t, model.TrainConfig{Kind: model.LinearRegression, Target: "y"})
	ev, _ := model.Evaluate(m, t)
	fmt.Printf("rmse %.3f r2 %.3f\n", ev.Regression.RMSE, ev.Regression.R2)
	// Output: rmse 0.000 r2 1.000
}
