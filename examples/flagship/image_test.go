package main

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kilnml/kiln/compiler"
	"github.com/kilnml/kiln/components/serve"
	"github.com/kilnml/kiln/internal/dockerfile"
)

// No Docker on the build machine: these tests check the image definitions statically (every
// file a Dockerfile copies from the build context exists, every package it builds exists, the
// pipeline program lands where the compiler runs it) and that the compiled workflow runs the
// image the Dockerfile documents. Build the images with the commands in the Dockerfiles.

func TestImages(t *testing.T) {
	root := filepath.Join("..", "..")
	img, err := dockerfile.Check(root, "examples/flagship/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	image, dests := img.Name, img.Dests
	for _, want := range []string{compiler.DefaultBinary, "/kiln/kiln-serve", "/kiln/datasets/breast-cancer", "/kiln/registry"} {
		if !slices.Contains(dests, want) {
			t.Errorf("flagship image lacks %s (final stage copies %v)", want, dests)
		}
	}
	serveImg, err := dockerfile.Check(root, "cmd/kiln-serve/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	serveImage, serveDests := serveImg.Name, serveImg.Dests
	if !slices.Contains(serveDests, "/kiln/kiln-serve") {
		t.Errorf("kiln-serve image lacks /kiln/kiln-serve: %v", serveDests)
	}
	// The pipeline's default data path is in the image.
	f, _ := reflect.TypeOf(Params{}).FieldByName("Data")
	if def := f.Tag.Get("default"); !strings.HasPrefix(def, "/kiln/datasets/breast-cancer/") {
		t.Errorf("default data %q is not under the image's /kiln/datasets/breast-cancer", def)
	}

	res, err := compiler.Compile(Pipeline, compiler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tmpl := range res.Workflow.Spec.Templates {
		if tmpl.Container == nil {
			continue
		}
		n++
		if tmpl.Container.Image != image {
			t.Errorf("template %s runs %q, want the Dockerfile's %q", tmpl.Name, tmpl.Container.Image, image)
		}
		if got := strings.Join(append(slices.Clone(tmpl.Container.Command), tmpl.Container.Args...), " "); !strings.HasPrefix(got, compiler.DefaultBinary+" component ") {
			t.Errorf("template %s runs %q, want %s component ...", tmpl.Name, got, compiler.DefaultBinary)
		}
	}
	if n < 8 {
		t.Errorf("%d container templates, want one per component (8)", n)
	}
	f, _ = reflect.TypeOf(serve.DeployIn{}).FieldByName("Image")
	if def := f.Tag.Get("default"); def != serveImage {
		t.Errorf("serve.Deploy's default image %q, kiln-serve's Dockerfile builds %q", def, serveImage)
	}
}
