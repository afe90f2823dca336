package dataset_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/kilnml/kiln/components/ml/dataset"
)

func ExampleNewProfile() {
	csv := "age,city\n31,paris\n,rome\n45,paris\n"
	t, err := dataset.ReadCSV(strings.NewReader(csv), dataset.CSVOptions{})
	if err != nil {
		panic(err)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	enc.Encode(dataset.NewProfile(t))
	// Output:
	// {
	//  "rows": 3,
	//  "columns": [
	//   {
	//    "name": "age",
	//    "kind": "int",
	//    "count": 2,
	//    "missing": 1,
	//    "distinct": 2,
	//    "min": 31,
	//    "max": 45,
	//    "mean": 38,
	//    "std": 9.899494936611665
	//   },
	//   {
	//    "name": "city",
	//    "kind": "string",
	//    "count": 3,
	//    "missing": 0,
	//    "distinct": 2,
	//    "top": [
	//     {
	//      "value": "paris",
	//      "count": 2
	//     },
	//     {
	//      "value": "rome",
	//      "count": 1
	//     }
	//    ]
	//   }
	//  ]
	// }
}

func ExampleInferSchema() {
	header := []string{"id", "ratio", "ok", "name"}
	records := [][]string{{"1", "0.5", "true", "a"}, {"2", "NA", "false", "b"}}
	s := dataset.InferSchema(header, records, dataset.CSVOptions{})
	for _, f := range s.Fields {
		fmt.Println(f.Name, f.Kind)
	}
	// Output:
	// id int
	// ratio float
	// ok bool
	// name string
}
