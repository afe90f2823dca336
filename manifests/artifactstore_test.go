package manifests

import (
	"context"
	"net/url"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"sigs.k8s.io/yaml"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kilnml/kiln/artifactstore"
)

// TestArtifactStoreURLs opens the artifact store each overlay configures, as the server does at
// start-up (gocloud parses the bucket URL's parameters without network access), so a parameter
// the blob library does not know fails here rather than in a crash-looping pod; and it checks
// that Argo's default artifact repository of each overlay is that bucket.
func TestArtifactStoreURLs(t *testing.T) {
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			objs, err := Render(dir)
			if err != nil {
				t.Fatal(err)
			}
			var urls []string
			for _, o := range objs {
				if o.GetKind() != "ConfigMap" || !strings.HasPrefix(o.GetName(), "kiln-config") {
					continue
				}
				data, _, _ := unstructured.NestedStringMap(o.Object, "data")
				if u := data["KILN_ARTIFACT_STORE"]; u != "" {
					urls = append(urls, u)
				}
			}
			if dir != "base" && len(urls) == 0 {
				t.Fatalf("%s configures no KILN_ARTIFACT_STORE", dir)
			}
			for _, u := range urls {
				st, err := artifactstore.New(context.Background(), artifactstore.Options{DefaultBucket: u})
				if err != nil {
					t.Errorf("KILN_ARTIFACT_STORE=%s: %v", u, err)
					continue
				}
				st.Close()
			}
			if dir != "base" {
				checkArgoRepository(t, objs, urls[0])
			}
		})
	}
}

// checkArgoRepository checks that the overlay's default artifact repository for Argo writes to
// the bucket the Kiln server reads (storeURL), at the same endpoint, so the artifacts and
// archived logs of runs reach the portal.
func checkArgoRepository(t *testing.T, objs []*unstructured.Unstructured, storeURL string) {
	t.Helper()
	cm := find(objs, "ConfigMap", "artifact-repositories")
	if cm == nil {
		t.Fatal("no ConfigMap artifact-repositories (Argo's default artifact repository)")
	}
	key := cm.GetAnnotations()["workflows.argoproj.io/default-artifact-repository"]
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	var repo wfv1.ArtifactRepository
	if err := yaml.UnmarshalStrict([]byte(data[key]), &repo); err != nil {
		t.Fatalf("artifact-repositories key %q (the default): %v", key, err)
	}
	if repo.S3 == nil {
		t.Fatalf("the default artifact repository is not S3: %+v", repo)
	}
	if !repo.IsArchiveLogs() {
		t.Error("the default artifact repository does not archive logs: a step's logs are lost with its pod")
	}
	u, err := url.Parse(storeURL)
	if err != nil {
		t.Fatal(err)
	}
	if repo.S3.Bucket != u.Host {
		t.Errorf("Argo writes to bucket %q, the server reads bucket %q", repo.S3.Bucket, u.Host)
	}
	if ep := u.Query().Get("endpoint"); ep != "" {
		if got := strings.TrimPrefix(strings.TrimPrefix(ep, "http://"), "https://"); got != repo.S3.Endpoint {
			t.Errorf("Argo writes to endpoint %q, the server reads %q", repo.S3.Endpoint, ep)
		}
		insecure := repo.S3.Insecure != nil && *repo.S3.Insecure
		if insecure != strings.HasPrefix(ep, "http://") {
			t.Errorf("Argo's insecure=%v does not match the server's endpoint %q", insecure, ep)
		}
	}
}
