package main

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kilnml/kiln/compiler"
	"github.com/kilnml/kiln/internal/dockerfile"
)

// No Docker on the build machine: this test checks the image definition statically (every file
// the Dockerfile copies from the build context exists, every package it builds exists, the
// scripts and the pipeline program land where the pipeline runs them) and that the compiled
// workflow runs the image the Dockerfile documents.

func TestImage(t *testing.T) {
	root := filepath.Join("..", "..")
	img, err := dockerfile.Check(root, "examples/sklearn/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	image, dests := img.Name, img.Dests
	if image != Image {
		t.Errorf("Dockerfile builds %q, the pipeline names %q", image, Image)
	}
	for _, want := range []string{compiler.DefaultBinary, "/kiln/examples/sklearn/scripts", "/kiln/datasets/breast-cancer"} {
		if !slices.Contains(dests, want) {
			t.Errorf("image lacks %s (final stage copies %v)", want, dests)
		}
	}
	var run string
	for _, in := range img.Instructions {
		if in.Cmd == "RUN" {
			run += strings.Join(in.Args, " ") + "\n"
		}
	}
	for _, pkg := range []string{"python3-sklearn", "python3-pandas"} {
		if !strings.Contains(run, pkg) {
			t.Errorf("no apt-get install of %s", pkg)
		}
	}
	if regexp.MustCompile(`\bpip3? +install`).MatchString(run) {
		t.Error("the image downloads Python packages with pip; use Debian's")
	}
	res, err := compiler.Compile(pipeline, compiler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var scriptsDefault string
	for _, p := range res.Workflow.Spec.Arguments.Parameters {
		if p.Name == "scripts" && p.Value != nil {
			scriptsDefault = p.Value.String()
		}
	}
	if scriptsDefault != "/kiln/examples/sklearn/scripts" {
		t.Errorf("scripts input defaults to %q, not the image's scripts directory", scriptsDefault)
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
	}
	if n < 5 {
		t.Errorf("%d container templates, want 5", n)
	}
}
