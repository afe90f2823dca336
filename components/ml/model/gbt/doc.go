// Package gbt fits gradient-boosted regression trees on a dense feature matrix, with a binary
// log-loss objective (for two-class classification) or squared error (for regression).
//
// Each tree is grown depth-first on histogram bins (at most MaxBins quantile thresholds per
// feature, computed once per fit) with Newton leaf values −G/(H+λ), as in XGBoost and
// LightGBM. Rows are optionally subsampled per tree (stochastic gradient boosting). A NaN
// feature value goes to the left child of every split on that feature.
package gbt
