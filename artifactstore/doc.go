// Package artifactstore reads (and writes) Kiln's artifacts wherever they are kept: files under
// the local engine's run directories, an S3-compatible bucket (AWS S3, MinIO) or Google Cloud
// Storage. It is a thin layer over gocloud.dev/blob, so the per-cloud code is gocloud's and the
// only cloud-specific code here builds bucket URLs.
//
// # URIs
//
// An artifact is named by a URI:
//
//	file:///var/lib/kiln/runs/RUN/artifacts/NODE/model      a file or a directory
//	s3://bucket/path/to/key?endpoint=http://minio:9000&region=us-east-1&use_path_style=true
//	gs://bucket/path/to/key
//	path/to/key                                              a key in the default bucket
//
// The query of an s3:// or gs:// URI configures the bucket and is passed to gocloud (see
// gocloud.dev/blob/s3blob and gocloud.dev/aws for the parameters); unless Options.TrustURIs is
// set it may only differ from the default bucket's in region, path style and HTTPS, and name
// no endpoint but the default bucket's or Options.Endpoints, because URIs come from users and
// are read with the server's credentials (ErrForbidden otherwise). A URI of the default
// bucket's scheme without a query borrows the default bucket's query, so on a MinIO deployment
// "s3://other-bucket/key" reaches the same endpoint. A URI without a scheme is a key in the
// default bucket: that is how Argo reports artifacts it wrote to the workflow's artifact
// repository (outputs.artifacts[i].s3.key, relative to the repository's bucket); ArtifactURI
// turns an Argo artifact location into such a URI.
//
// mlflow-artifacts: URIs (artifacts uploaded through the MLflow proxy) become file:// URIs
// under Options.MLflowArtifactDir with MLflowURI.
//
// # Credentials
//
// Credentials come from the standard environment of each cloud's SDK: AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_PROFILE, web identity and instance roles for S3;
// GOOGLE_APPLICATION_CREDENTIALS and the metadata server for GCS. Argo's per-artifact secret
// references are not read: the backend has its own credentials for the repository.
//
// # Local files
//
// file:// URIs are served only under Options.FileRoots (and the default bucket's directory when
// it is a file:// URL), so a URI registered by a user cannot read the server's own files, such
// as its database.
//
// # Directories and archives
//
// An artifact may be a single object or a "directory": a local directory, or every object
// under key + "/". Stat reports which; List returns a directory's entries. Argo stores output
// artifacts as gzipped tar archives (.tgz) by default; TarEntries and OpenTarEntry read them
// as a stream.
package artifactstore
