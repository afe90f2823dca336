// Package dataset holds Kiln's in-memory tabular data for the ready-made ML components:
// a column-oriented [Table], CSV and Parquet readers and writers, schema inference and a
// small statistical [Profile]. Package dataset/fetch imports a file from a URL or path.
//
// A Table stores every column either as numbers (float64, with NaN marking a missing value)
// or as strings (with a parallel missing mask). Numeric columns keep the [Kind] they were
// inferred or read as (int, float or bool) so that a profile and a CSV round trip say what the
// data was, while the ML code sees one representation.
//
// A component typically calls [ReadFile] on its input artifact (or fetch.Import for a URL),
// passes the Table to preprocess and model, and writes a [Profile] as JSON next to its
// outputs.
package dataset
