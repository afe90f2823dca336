package metrics_test

import (
	"fmt"

	"github.com/kilnml/kiln/components/ml/metrics"
)

func ExampleClassify() {
	yTrue := []int{0, 0, 1, 1}
	yPred := []int{0, 1, 1, 1}
	proba := [][]float64{{0.9, 0.1}, {0.4, 0.6}, {0.35, 0.65}, {0.2, 0.8}}
	r, err := metrics.Classify(yTrue, yPred, proba, []string{"benign", "malignant"})
	if err != nil {
		panic(err)
	}
	fmt.Printf("accuracy %.2f precision %.3f recall %.2f auc %.2f\n", r.Accuracy, r.Precision, r.Recall, *r.ROCAUC)
	fmt.Println(r.Confusion.Counts)
	// Output:
	// accuracy 0.75 precision 0.667 recall 1.00 auc 1.00
	// [[1 1] [0 2]]
}

func ExampleRegress() {
	r, _ := metrics.Regress([]float64{3, -0.5, 2, 7}, []float64{2.5, 0, 2, 8})
	fmt.Printf("rmse %.4f mae %.2f r2 %.4f\n", r.RMSE, r.MAE, r.R2)
	// Output: rmse 0.6124 mae 0.50 r2 0.9486
}
