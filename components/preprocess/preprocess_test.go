package preprocess

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/kilnml/kiln/components/ml/dataset"
	mlpre "github.com/kilnml/kiln/components/ml/preprocess"
	"github.com/kilnml/kiln/dsl"
)

func TestSplitBreastCancer(t *testing.T) {
	ctx := context.Background()
	src, _ := filepath.Abs("../../datasets/breast-cancer/data.csv")
	in := SplitIn{
		Data: dsl.Of(dsl.Dataset{Path: src}), Train: dsl.Of(0.6), Validation: dsl.Of(0.2), Test: dsl.Of(0.2),
		Seed: dsl.Of(3), Stratify: dsl.Of("diagnosis"),
	}
	out, err := split(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	tr, va, te := out.TrainRows.Get(), out.ValidationRows.Get(), out.TestRows.Get()
	if tr+va+te != 569 || math.Abs(float64(te)-569*0.2) > 2 || math.Abs(float64(tr)-569*0.6) > 2 {
		t.Errorf("split sizes %d/%d/%d of 569, want about 341/114/114", tr, va, te)
	}
	// Stratified: each part keeps the 212/569 share of malignant rows (within one row).
	for name, d := range map[string]dsl.Dataset{"train": out.Train.Get(), "validation": out.Validation.Get(), "test": out.Test.Get()} {
		tbl, err := dataset.ReadFile(ctx, d.Path, "", dataset.CSVOptions{})
		if err != nil {
			t.Fatal(err)
		}
		labels, _ := tbl.Strings("diagnosis")
		m := 0
		for _, l := range labels {
			if l == "malignant" {
				m++
			}
		}
		if want := float64(len(labels)) * 212 / 569; math.Abs(float64(m)-want) > 1 {
			t.Errorf("%s: %d malignant of %d, want about %.1f", name, m, len(labels), want)
		}
	}
	again, err := split(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(out.Test.Get().Path)
	b, _ := os.ReadFile(again.Test.Get().Path)
	if string(a) != string(b) {
		t.Error("the same seed gave a different test split")
	}
	if _, err := split(ctx, SplitIn{Data: in.Data, Train: dsl.Of(0.5), Validation: dsl.Of(0.2), Test: dsl.Of(0.2), Seed: dsl.Of(0), Stratify: dsl.Of("")}); err == nil {
		t.Error("fractions summing to 0.9 were accepted")
	}
}

func TestFitTransform(t *testing.T) {
	p := filepath.Join(t.TempDir(), "d.csv")
	if err := os.WriteFile(p, []byte("x,c\n1,a\n2,b\n3,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := fitTransform(context.Background(), FitTransformIn{
		Data: dsl.Of(dsl.Dataset{Path: p}), Config: dsl.Of(mlpre.Config{Scaling: mlpre.ScaleStandard}),
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out.Transform.Get().Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := mlpre.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	row, err := tr.ApplyRecord(map[string]any{"x": 3.0, "c": "b"})
	if err != nil {
		t.Fatal(err)
	}
	// x: mean 2, population std sqrt(2/3); c one-hot over [a b], b → (0, 1).
	want := []float64{1 / math.Sqrt(2.0/3), 0, 1}
	if len(row) != len(want) {
		t.Fatalf("row %v, want %v (outputs %v)", row, want, out.Outputs.Get())
	}
	for i := range want {
		if math.Abs(row[i]-want[i]) > 1e-12 {
			t.Errorf("row %v, want %v", row, want)
			break
		}
	}
}
