package manifests

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kilnml/kiln/artifactstore"
)

// TestArtifactStoreURLs opens the artifact store each overlay configures, as the server does at
// start-up (gocloud parses the bucket URL's parameters without network access), so a parameter
// the blob library does not know fails here rather than in a crash-looping pod.
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
		})
	}
}
