// Package model trains, stores and serves Kiln's ready-made models: logistic regression,
// softmax regression, linear (least squares / ridge) regression and gradient-boosted trees.
//
// # Artifact format
//
// A model is one JSON document, so a single file is enough to serve it:
//
//	{
//	  "format": "kiln.model/v1",
//	  "kind": "logistic_regression" | "softmax" | "linear_regression" | "gbt",
//	  "target": "diagnosis",                  // label column used in training (informational)
//	  "features": ["mean_radius", ...],       // input columns, in the order Predict expects
//	  "classes": ["benign", "malignant"],     // classifiers only; index = class number
//	  "preprocess": { "format": "kiln.transform/v1", ... },  // optional fitted transform
//	  "linear": { "coef": [[...]], "intercept": [...] },     // linear kinds
//	  "gbt": { "objective": ..., "base_score": ..., "trees": [...] },  // kind gbt
//	  "metadata": { "any": "string" }                        // optional
//	}
//
// When "preprocess" is present its input columns equal "features", and the linear weights or
// tree features index the transform's outputs (see preprocess.Transform.OutputNames). A
// logistic_regression model has one weight row giving the log-odds of classes[1]; a softmax
// model has one row per class; a gbt classifier has exactly two classes and its raw score is
// the log-odds of classes[1]. Classes are sorted lexically at training time.
//
// Load checks all of this and reports every problem with the JSON path of the field it
// concerns (for example "linear.coef[0]: Invalid value: ...").
//
// A newer format is a new "format" string; readers reject formats they do not know.
package model
