// Package s3test starts an S3-compatible server on loopback for tests: the S3 HTTP protocol
// implemented by github.com/johannesboyne/gofakes3 with an in-memory backend, reached by the
// real AWS SDK (through gocloud.dev/blob) over real HTTP. No MinIO binary is available to our
// tests and nothing may be downloaded while they run, so this is the closest real server; it
// accepts any credentials (it does not verify request signatures).
package s3test

import (
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Region is the region the test server's bucket URLs name.
const Region = "us-east-1"

// Server is a running S3-compatible server.
type Server struct {
	// Endpoint is the server's base URL, such as "http://127.0.0.1:40123".
	Endpoint string
}

// Start starts a server with the given buckets, sets AWS credentials in the test's environment
// (t.Setenv, so the test must not be parallel) and stops the server when the test ends.
func Start(t testing.TB, buckets ...string) *Server {
	t.Helper()
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			t.Fatalf("s3test: create bucket %q: %v", b, err)
		}
	}
	faker := gofakes3.New(backend, gofakes3.WithTimeSkewLimit(0))
	srv := httptest.NewServer(faker.Server())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "kiln-test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "kiln-test-secret")
	t.Setenv("AWS_REGION", Region)
	// Keep the SDK away from the user's files and the EC2 metadata service.
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return &Server{Endpoint: srv.URL}
}

// BucketURL returns the gocloud bucket URL of bucket on this server (path-style addressing,
// as MinIO deployments use).
func (s *Server) BucketURL(bucket string) string {
	q := url.Values{"endpoint": {s.Endpoint}, "region": {Region}, "use_path_style": {"true"}}
	return (&url.URL{Scheme: "s3", Host: bucket, RawQuery: q.Encode()}).String()
}
