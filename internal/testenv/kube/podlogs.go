package kube

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// podLogFile is the log kwok serves for the main container of every pod.
func (e *Env) podLogFile() string { return filepath.Join(e.Dir, "pod-main.log") }

// podLogsConfig is kwok's ClusterLogs object serving file as the "main"
// container's log of every pod, followed as it grows.
func podLogsConfig(file string) []byte {
	return fmt.Appendf(nil, `---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: kiln-main-logs
spec:
  logs:
  - containers: [main]
    logsFile: %q
    follow: true
`, file)
}

// AppendPodLog appends lines to the log that kwok serves (through the API
// server's pods/log) as the main container's log of every pod on the fake
// node. A reader following a running pod's log receives them as they are
// written; a reader that starts later reads every line written so far. It
// needs StartArgoController to have run.
func (e *Env) AppendPodLog(lines ...string) error {
	var b strings.Builder
	for _, l := range lines {
		// The CRI log format the kubelet reads: time, stream, full-line tag, text.
		fmt.Fprintf(&b, "%s stdout F %s\n", time.Now().UTC().Format(time.RFC3339Nano), l)
	}
	f, err := os.OpenFile(e.podLogFile(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("kube: pod log: %w", err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return fmt.Errorf("kube: pod log: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("kube: pod log: %w", err)
	}
	return nil
}
