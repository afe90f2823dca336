package mlflow_test

import (
	"context"
	"log"
	"log/slog"
	"net/http"

	"github.com/kilnml/kiln/backend/mlflow"
	"github.com/kilnml/kiln/backend/store/sqlite"
)

// The handler serves both of MLflow's prefixes; mount it at the root of a mux (or under each
// prefix). MLflow clients then use the server as their tracking URI:
// MLFLOW_TRACKING_URI=http://127.0.0.1:5000.
func ExampleNewHandler() {
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: "/tmp/kiln-example/kiln.db"})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	h := mlflow.NewHandler(st, slog.Default(), mlflow.WithArtifactRoot("file:///tmp/kiln-example/artifacts"))
	mux := http.NewServeMux()
	mux.Handle("/api/2.0/mlflow/", h)
	mux.Handle("/ajax-api/2.0/mlflow/", h)
	_ = http.ListenAndServe("127.0.0.1:5000", mux)
}
