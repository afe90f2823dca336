package compiler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/kilnml/kiln/dsl"
)

// Components shared by the compiler's tests. Their functions do real (small) work so that the
// local-engine tests can run the same pipelines.

type prepIn struct {
	Rows dsl.Value[int]    `default:"100" description:"rows to generate"`
	Seed dsl.Value[int64]  `default:"1"`
	Name dsl.Value[string] `kiln:",optional"`
}

type prepOut struct {
	Train dsl.Value[dsl.Dataset]
	Test  dsl.Value[dsl.Dataset]
	Count dsl.Value[int]
}

var prep = dsl.Func("prep", func(ctx context.Context, in prepIn) (prepOut, error) {
	dir, err := os.MkdirTemp("", "prep-")
	if err != nil {
		return prepOut{}, err
	}
	write := func(name string, n int) (string, error) {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "%d,%d\n", i, (i*int(in.Seed.Get()))%7)
		}
		path := filepath.Join(dir, name)
		return path, os.WriteFile(path, []byte(b.String()), 0o644)
	}
	trainPath, err := write("train.csv", in.Rows.Get())
	if err != nil {
		return prepOut{}, err
	}
	testPath, err := write("test.csv", in.Rows.Get()/4+1)
	if err != nil {
		return prepOut{}, err
	}
	return prepOut{
		Train: dsl.Of(dsl.Dataset{Path: trainPath}),
		Test:  dsl.Of(dsl.Dataset{Path: testPath}),
		Count: dsl.Of(in.Rows.Get()),
	}, nil
})

type trainIn struct {
	Data   dsl.Value[dsl.Dataset]
	LR     dsl.Value[float64]           `kiln:"lr" default:"0.1"`
	Epochs dsl.Value[int]               `default:"3"`
	Layers dsl.Value[[]int]             `default:"[64,32]"`
	Extra  dsl.Value[map[string]string] `kiln:",optional"`
}

type trainOut struct {
	Model    dsl.Value[dsl.Model]
	Accuracy dsl.Value[float64]
}

var train = dsl.Func("train", func(ctx context.Context, in trainIn) (trainOut, error) {
	data, err := os.ReadFile(in.Data.Get().Path)
	if err != nil {
		return trainOut{}, err
	}
	acc := math.Min(1, 0.8+in.LR.Get())
	model, err := json.Marshal(map[string]any{"lr": in.LR.Get(), "rows": strings.Count(string(data), "\n"), "accuracy": acc})
	if err != nil {
		return trainOut{}, err
	}
	f, err := os.CreateTemp("", "model-*.json")
	if err != nil {
		return trainOut{}, err
	}
	defer f.Close()
	if _, err := f.Write(model); err != nil {
		return trainOut{}, err
	}
	return trainOut{Model: dsl.Of(dsl.Model{Path: f.Name()}), Accuracy: dsl.Of(acc)}, nil
})

type evalIn struct {
	Model dsl.Value[dsl.Model]
	Data  dsl.Value[dsl.Dataset]
}

type evalOut struct {
	Metrics  dsl.Value[dsl.Metrics]
	Accuracy dsl.Value[float64]
	Verdict  dsl.Value[string]
}

var evaluate = dsl.Func("evaluate", func(ctx context.Context, in evalIn) (evalOut, error) {
	b, err := os.ReadFile(in.Model.Get().Path)
	if err != nil {
		return evalOut{}, err
	}
	var m struct{ Accuracy float64 }
	if err := json.Unmarshal(b, &m); err != nil {
		return evalOut{}, err
	}
	if _, err := os.Stat(in.Data.Get().Path); err != nil {
		return evalOut{}, err
	}
	verdict := "bad"
	if m.Accuracy > 0.85 {
		verdict = "good"
	}
	return evalOut{
		Metrics:  dsl.Of(dsl.Metrics{Values: map[string]float64{"accuracy": m.Accuracy}}),
		Accuracy: dsl.Of(m.Accuracy),
		Verdict:  dsl.Of(verdict),
	}, nil
})

type scoreIn struct {
	X dsl.Value[float64]
}

type scoreOut struct {
	Y dsl.Value[float64]
}

var square = dsl.Func("square", func(ctx context.Context, in scoreIn) (scoreOut, error) {
	x := in.X.Get()
	return scoreOut{Y: dsl.Of(x * x)}, nil
})

type sumIn struct {
	Values dsl.Value[[]float64]
}

type sumOut struct {
	Total dsl.Value[float64]
}

var sum = dsl.Func("sum", func(ctx context.Context, in sumIn) (sumOut, error) {
	t := 0.0
	for _, v := range in.Values.Get() {
		t += v
	}
	return sumOut{Total: dsl.Of(t)}, nil
})

type msgIn struct {
	Text dsl.Value[string]
}

type noOut struct{}

var notify = dsl.Func("notify", func(ctx context.Context, in msgIn) (noOut, error) {
	fmt.Println("notify:", in.Text.Get())
	return noOut{}, nil
})

// echo is a container component: it runs a shell command in an image.
type echoIn struct {
	Text dsl.Value[string] `default:"hi"`
}

type echoOut struct {
	Said dsl.Value[string]
}

var echo = dsl.Container[echoIn, echoOut]("echo", dsl.ContainerSpec{
	Image:   "busybox:1.36",
	Command: []string{"sh", "-c"},
	Args:    []string{"echo {{inputs.text}} | tee {{outputs.said.path}}"},
})

// wc counts lines of a dataset in a container.
type wcIn struct {
	Data dsl.Value[dsl.Dataset]
}

type wcOut struct {
	Lines dsl.Value[int]
	Copy  dsl.Value[dsl.Dataset]
}

var wc = dsl.Container[wcIn, wcOut]("wc", dsl.ContainerSpec{
	Image:   "busybox:1.36",
	Command: []string{"sh", "-c", "wc -l < {{inputs.data.path}} > {{outputs.lines.path}} && cp {{inputs.data.path}} {{outputs.copy.path}}"},
})

type listOut struct {
	Items dsl.Value[[]string]
}

var lister = dsl.Func("lister", func(ctx context.Context, in struct{}) (listOut, error) {
	return listOut{Items: dsl.Of([]string{"a", "b", "c"})}, nil
})

type configIn struct {
	Config dsl.Value[hyper] `default:"{\"depth\":3,\"rate\":0.5}"`
}

type hyper struct {
	Depth int     `json:"depth"`
	Rate  float64 `json:"rate"`
}

var configure = dsl.Func("configure", func(ctx context.Context, in configIn) (scoreOut, error) {
	return scoreOut{Y: dsl.Of(in.Config.Get().Rate)}, nil
})
