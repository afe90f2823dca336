package tracking_test

import (
	"context"
	"errors"
	"log"

	"github.com/kilnml/kiln/tracking"
)

// A component logs to the run it belongs to; outside a run FromEnv reports ErrNotConfigured.
func ExampleFromEnv() {
	ctx := context.Background()
	tr, err := tracking.FromEnv()
	if errors.Is(err, tracking.ErrNotConfigured) {
		return // not inside a Kiln run: nothing to log to
	}
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		if err := tr.Close(ctx); err != nil { // sends what is buffered
			log.Print(err)
		}
	}()
	_ = tr.LogParam(ctx, "optimizer", "adam")
	for step := range int64(10) {
		_ = tr.LogMetric(ctx, "loss", 1/float64(step+1), step)
	}
	if _, err := tr.LogArtifact(ctx, "model", "out/model.bin"); err != nil {
		log.Print(err)
	}
}
