package artifactstore

import (
	"fmt"
	"net/url"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// ArtifactURI returns the URI of an Argo artifact's location in a Store:
//
//   - http with a file:// URL (the local engine's outputs): that URL;
//   - s3 with a bucket: s3://bucket/key, with endpoint (http:// when insecure, else https://),
//     region and use_path_style=true when an endpoint is set (MinIO and other S3-compatible
//     servers address buckets by path);
//   - s3 or gcs without a bucket (Argo's usual node status, relative to the workflow's artifact
//     repository): the bare key, which a Store resolves in its default bucket;
//   - gcs with a bucket: gs://bucket/key.
//
// Other locations (raw, git, http(s), Artifactory, HDFS, OSS, Azure) are ErrUnsupported; raw
// artifacts carry their data inline (a.Raw.Data) and need no store.
func ArtifactURI(a *wfv1.Artifact) (string, error) {
	switch {
	case a == nil:
		return "", fmt.Errorf("no artifact: %w", ErrInvalidURI)
	case a.HTTP != nil && strings.HasPrefix(a.HTTP.URL, "file://"):
		return a.HTTP.URL, nil
	case a.S3 != nil:
		if a.S3.Key == "" {
			return "", fmt.Errorf("artifact %q: s3.key is empty: %w", a.Name, ErrInvalidURI)
		}
		if a.S3.Bucket == "" {
			return cleanKey(a.S3.Key), nil
		}
		q := url.Values{}
		if ep := a.S3.Endpoint; ep != "" {
			if !strings.Contains(ep, "://") {
				scheme := "https://"
				if a.S3.Insecure != nil && *a.S3.Insecure {
					scheme = "http://"
				}
				ep = scheme + ep
			}
			q.Set("endpoint", ep)
			q.Set("use_path_style", "true")
		}
		if a.S3.Region != "" {
			q.Set("region", a.S3.Region)
		}
		u := url.URL{Scheme: "s3", Host: a.S3.Bucket, Path: "/" + cleanKey(a.S3.Key), RawQuery: q.Encode()}
		return u.String(), nil
	case a.GCS != nil:
		if a.GCS.Key == "" {
			return "", fmt.Errorf("artifact %q: gcs.key is empty: %w", a.Name, ErrInvalidURI)
		}
		if a.GCS.Bucket == "" {
			return cleanKey(a.GCS.Key), nil
		}
		u := url.URL{Scheme: "gs", Host: a.GCS.Bucket, Path: "/" + cleanKey(a.GCS.Key)}
		return u.String(), nil
	}
	return "", fmt.Errorf("artifact %q: %s location: %w", a.Name, locationKind(a), ErrUnsupported)
}

// locationKind names the kind of an artifact's location for error messages.
func locationKind(a *wfv1.Artifact) string {
	switch {
	case a.Raw != nil:
		return "raw"
	case a.HTTP != nil:
		return "http"
	case a.Git != nil:
		return "git"
	case a.Artifactory != nil:
		return "artifactory"
	case a.HDFS != nil:
		return "hdfs"
	case a.OSS != nil:
		return "oss"
	case a.Azure != nil:
		return "azure"
	}
	return "no"
}

// IsArchive reports whether name (a key or a file name) looks like a gzipped tar archive, the
// form Argo stores output artifacts in unless their archive strategy is none.
func IsArchive(name string) bool {
	return strings.HasSuffix(name, ".tgz") || strings.HasSuffix(name, ".tar.gz")
}
