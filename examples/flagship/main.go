package main

import "github.com/kilnml/kiln"

func main() { kiln.Main(Pipeline) }
