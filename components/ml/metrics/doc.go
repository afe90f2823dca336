// Package metrics evaluates Kiln models: accuracy, per-class precision/recall/F1, ROC AUC,
// log loss and the confusion matrix for classifiers, and RMSE, MAE and R² for regressors.
//
// Reports are plain structs that marshal to JSON (the metrics artifact of an evaluate
// component) and flatten to name → value maps with Scalars for tracking and sweep objectives.
// Classes are identified by their index into a model's class list; the positive class of a
// binary problem is index 1.
package metrics
