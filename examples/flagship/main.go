package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/kilnml/kiln"
)

func main() {
	// flagship test-request DATA FILE: write an infer request for 4 rows of the test split.
	if len(os.Args) == 4 && os.Args[1] == "test-request" {
		f, err := os.Create(os.Args[3])
		if err == nil {
			var labels []string
			labels, err = writeRequest(context.Background(), f, os.Args[2], 4)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			fmt.Println(strings.Join(labels, " "))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "test-request:", err)
			os.Exit(1)
		}
		return
	}
	kiln.Main(Pipeline)
}
