package metrics

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ConfusionMatrix counts predictions: Counts[i][j] is the number of rows whose true class is i
// and predicted class is j.
type ConfusionMatrix struct {
	// Classes names the rows and columns, in index order.
	Classes []string `json:"classes"`
	// Counts is indexed [true][predicted].
	Counts [][]int `json:"counts"`
}

// Confusion builds the confusion matrix of yTrue against yPred for len(classes) classes.
func Confusion(yTrue, yPred []int, classes []string) (ConfusionMatrix, error) {
	if len(yTrue) != len(yPred) {
		return ConfusionMatrix{}, fmt.Errorf("confusion: %d labels and %d predictions", len(yTrue), len(yPred))
	}
	k := len(classes)
	m := ConfusionMatrix{Classes: classes, Counts: make([][]int, k)}
	for i := range m.Counts {
		m.Counts[i] = make([]int, k)
	}
	for i := range yTrue {
		t, p := yTrue[i], yPred[i]
		if t < 0 || t >= k || p < 0 || p >= k {
			return ConfusionMatrix{}, fmt.Errorf("confusion: row %d: class index out of range [0,%d): true %d, predicted %d", i, k, t, p)
		}
		m.Counts[t][p]++
	}
	return m, nil
}

// ClassReport holds one class's one-vs-rest scores.
type ClassReport struct {
	// Class is the class name.
	Class string `json:"class"`
	// Precision is TP/(TP+FP), 0 when nothing was predicted as the class.
	Precision float64 `json:"precision"`
	// Recall is TP/(TP+FN), 0 when the class never occurs.
	Recall float64 `json:"recall"`
	// F1 is the harmonic mean of Precision and Recall, 0 when both are 0.
	F1 float64 `json:"f1"`
	// Support is the number of rows whose true class is this one.
	Support int `json:"support"`
}

// Classification is the evaluation report of a classifier.
type Classification struct {
	// N is the number of rows evaluated.
	N int `json:"n"`
	// Accuracy is the fraction of rows predicted correctly.
	Accuracy float64 `json:"accuracy"`
	// Precision, Recall and F1 are of class 1 for two classes, and macro averages otherwise.
	Precision float64 `json:"precision"`
	// Recall: see Precision.
	Recall float64 `json:"recall"`
	// F1: see Precision.
	F1 float64 `json:"f1"`
	// MacroF1 is the unweighted mean of the per-class F1 scores.
	MacroF1 float64 `json:"macro_f1"`
	// WeightedF1 is the support-weighted mean of the per-class F1 scores.
	WeightedF1 float64 `json:"weighted_f1"`
	// ROCAUC is the area under the ROC curve of class 1 for two classes and the macro average of
	// one-vs-rest AUCs otherwise; nil without probabilities or when a class has no positives or
	// no negatives.
	ROCAUC *float64 `json:"roc_auc,omitempty"`
	// LogLoss is the mean negative log-likelihood of the true class (probabilities clipped to
	// [1e-15, 1-1e-15]); nil without probabilities.
	LogLoss *float64 `json:"log_loss,omitempty"`
	// PerClass lists one report per class.
	PerClass []ClassReport `json:"per_class"`
	// Confusion is the confusion matrix.
	Confusion ConfusionMatrix `json:"confusion_matrix"`
}

// Classify evaluates predicted classes yPred (and, if proba is not nil, class probabilities,
// one row of len(classes) values per example) against true classes yTrue.
func Classify(yTrue, yPred []int, proba [][]float64, classes []string) (Classification, error) {
	if len(classes) < 2 {
		return Classification{}, fmt.Errorf("classify: %d classes, want at least 2", len(classes))
	}
	if len(yTrue) == 0 {
		return Classification{}, errors.New("classify: no rows")
	}
	cm, err := Confusion(yTrue, yPred, classes)
	if err != nil {
		return Classification{}, fmt.Errorf("classify: %w", err)
	}
	r := Classification{N: len(yTrue), Confusion: cm}
	k := len(classes)
	correct := 0
	for c := range k {
		correct += cm.Counts[c][c]
	}
	r.Accuracy = float64(correct) / float64(r.N)
	for c := range k {
		tp, fp, fn := cm.Counts[c][c], 0, 0
		for o := range k {
			if o != c {
				fp += cm.Counts[o][c]
				fn += cm.Counts[c][o]
			}
		}
		cr := ClassReport{Class: classes[c], Support: tp + fn, Precision: ratio(tp, tp+fp), Recall: ratio(tp, tp+fn)}
		if cr.Precision+cr.Recall > 0 {
			cr.F1 = 2 * cr.Precision * cr.Recall / (cr.Precision + cr.Recall)
		}
		r.PerClass = append(r.PerClass, cr)
		r.MacroF1 += cr.F1 / float64(k)
		r.WeightedF1 += cr.F1 * float64(cr.Support) / float64(r.N)
	}
	if k == 2 {
		r.Precision, r.Recall, r.F1 = r.PerClass[1].Precision, r.PerClass[1].Recall, r.PerClass[1].F1
	} else {
		for _, cr := range r.PerClass {
			r.Precision += cr.Precision / float64(k)
			r.Recall += cr.Recall / float64(k)
		}
		r.F1 = r.MacroF1
	}
	if proba == nil {
		return r, nil
	}
	if len(proba) != len(yTrue) {
		return Classification{}, fmt.Errorf("classify: %d probability rows for %d labels", len(proba), len(yTrue))
	}
	for i, p := range proba {
		if len(p) != k {
			return Classification{}, fmt.Errorf("classify: probability row %d has %d values, want %d", i, len(p), k)
		}
	}
	ll, err := LogLoss(yTrue, proba)
	if err != nil {
		return Classification{}, fmt.Errorf("classify: %w", err)
	}
	r.LogLoss = &ll
	if k == 2 {
		if auc, ok := ROCAUC(isClass(yTrue, 1), column(proba, 1)); ok {
			r.ROCAUC = &auc
		}
		return r, nil
	}
	var sum float64
	for c := range k {
		auc, ok := ROCAUC(isClass(yTrue, c), column(proba, c))
		if !ok {
			return r, nil
		}
		sum += auc
	}
	macro := sum / float64(k)
	r.ROCAUC = &macro
	return r, nil
}

// Scalars flattens r into metric names and values: accuracy, precision, recall, f1,
// macro_f1, weighted_f1 and, when present, roc_auc and log_loss.
func (r Classification) Scalars() map[string]float64 {
	m := map[string]float64{
		"accuracy":    r.Accuracy,
		"precision":   r.Precision,
		"recall":      r.Recall,
		"f1":          r.F1,
		"macro_f1":    r.MacroF1,
		"weighted_f1": r.WeightedF1,
	}
	if r.ROCAUC != nil {
		m["roc_auc"] = *r.ROCAUC
	}
	if r.LogLoss != nil {
		m["log_loss"] = *r.LogLoss
	}
	return m
}

// LogLoss returns the mean of -log p[i][yTrue[i]], with probabilities clipped to
// [1e-15, 1-1e-15].
func LogLoss(yTrue []int, proba [][]float64) (float64, error) {
	if len(yTrue) != len(proba) || len(yTrue) == 0 {
		return 0, fmt.Errorf("log loss: %d labels and %d probability rows", len(yTrue), len(proba))
	}
	const eps = 1e-15
	var s float64
	for i, y := range yTrue {
		if y < 0 || y >= len(proba[i]) {
			return 0, fmt.Errorf("log loss: row %d: class %d out of range", i, y)
		}
		s -= math.Log(min(max(proba[i][y], eps), 1-eps))
	}
	return s / float64(len(yTrue)), nil
}

// ROCAUC returns the area under the ROC curve of scores for the positives marked in pos,
// computed as the Mann–Whitney U statistic with tied scores counted as half. ok is false
// when there are no positives or no negatives.
func ROCAUC(pos []bool, scores []float64) (auc float64, ok bool) {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(scores[a], scores[b]) })
	var nPos, nNeg, rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		avgRank := float64(i+j+1) / 2 // 1-based ranks i+1..j averaged
		for _, r := range idx[i:j] {
			if pos[r] {
				nPos++
				rankSum += avgRank
			} else {
				nNeg++
			}
		}
		i = j
	}
	if nPos == 0 || nNeg == 0 {
		return 0, false
	}
	return (rankSum - nPos*(nPos+1)/2) / (nPos * nNeg), true
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func isClass(y []int, c int) []bool {
	out := make([]bool, len(y))
	for i, v := range y {
		out[i] = v == c
	}
	return out
}

func column(m [][]float64, j int) []float64 {
	out := make([]float64, len(m))
	for i, r := range m {
		out[i] = r[j]
	}
	return out
}
