package store

import "testing"

func TestPhases(t *testing.T) {
	tests := []struct {
		phase    Phase
		valid    bool
		terminal bool
		mlflow   string
	}{
		{PhasePending, true, false, "SCHEDULED"},
		{PhaseRunning, true, false, "RUNNING"},
		{PhaseSucceeded, true, true, "FINISHED"},
		{PhaseSkipped, true, true, "FINISHED"},
		{PhaseOmitted, true, true, "FINISHED"},
		{PhaseFailed, true, true, "FAILED"},
		{PhaseError, true, true, "FAILED"},
		{PhaseCancelled, true, true, "KILLED"},
		{"", false, false, "SCHEDULED"},
		{"Exploded", false, false, "SCHEDULED"},
	}
	for _, tt := range tests {
		t.Run(string(tt.phase), func(t *testing.T) {
			if got := tt.phase.Valid(); got != tt.valid {
				t.Errorf("Valid() = %v, want %v", got, tt.valid)
			}
			if got := tt.phase.Terminal(); got != tt.terminal {
				t.Errorf("Terminal() = %v, want %v", got, tt.terminal)
			}
			if got := tt.phase.MLflowStatus(); got != tt.mlflow {
				t.Errorf("MLflowStatus() = %q, want %q", got, tt.mlflow)
			}
		})
	}
}

func TestMLflowStatusRoundTrip(t *testing.T) {
	for _, s := range []string{"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"} {
		p, ok := PhaseFromMLflowStatus(s)
		if !ok {
			t.Fatalf("PhaseFromMLflowStatus(%q) not ok", s)
		}
		if got := p.MLflowStatus(); got != s {
			t.Errorf("%s -> %s -> %s", s, p, got)
		}
	}
	if _, ok := PhaseFromMLflowStatus("PAUSED"); ok {
		t.Error("unknown MLflow status accepted")
	}
}
