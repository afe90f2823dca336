// Package fetch imports a data file from a URL or path with go-getter (local paths, file://,
// http(s), s3::, gcs::, git::…) and reads it into a dataset.Table.
//
// It is separate from package dataset because go-getter brings in the cloud SDKs: a serving
// binary that only loads models and reads local tables does not need them.
package fetch
