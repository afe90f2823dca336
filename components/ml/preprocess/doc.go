// Package preprocess prepares a dataset.Table for training: seeded (optionally stratified)
// train/validation/test splits, and a fitted [Transform] — imputation, standard or min-max
// scaling, and one-hot encoding — that is stored as JSON (format "kiln.transform/v1") and
// embedded in every model artifact, so serving applies exactly the transform that training
// saw.
//
// A transform is fitted on the training split only and then applied to every split, which
// keeps validation and test statistics out of the fitted values.
package preprocess
