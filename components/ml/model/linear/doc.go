// Package linear fits linear models on a dense feature matrix: ordinary and ridge least
// squares (closed form through gonum/mat), binary logistic regression and multinomial
// (softmax) regression with an L2 penalty, minimised with gonum/optimize's L-BFGS.
//
// The package knows nothing about files, column names or preprocessing; package model wraps
// it into the versioned model artifact.
package linear
