package notebooks

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		nb   Notebook
		want []string // "field: type"
	}{
		{
			name: "minimal is valid",
			nb:   Notebook{Name: "nb", Namespace: "team-a"},
		},
		{
			name: "everything valid",
			nb: Notebook{Name: "nb-1", Namespace: "team-a", Spec: Spec{
				Resources:   Resources{CPU: "500m", Memory: "2Gi", GPU: 1},
				Workspace:   Workspace{Size: "10Gi", StorageClass: "fast-ssd"},
				DataVolumes: []DataVolume{{Name: "raw", ClaimName: "raw-data"}, {Name: "local", Path: "/data"}},
				Env:         []EnvVar{{Name: "MY_VAR", Value: "x"}},
				IdleTimeout: &Duration{Duration: 0},
			}},
		},
		{
			name: "bad names",
			nb:   Notebook{Name: "My_Notebook", Namespace: ""},
			want: []string{"name: FieldValueInvalid", "namespace: FieldValueRequired"},
		},
		{
			name: "too long name",
			nb:   Notebook{Name: strings.Repeat("a", 53), Namespace: "ns"},
			want: []string{"name: FieldValueTooLong"},
		},
		{
			name: "every spec problem at once",
			nb: Notebook{Name: "nb", Namespace: "ns", Spec: Spec{
				Resources: Resources{CPU: "lots", Memory: "-1Gi", GPU: -1},
				Workspace: Workspace{Size: "big", StorageClass: "Bad_Class"},
				DataVolumes: []DataVolume{
					{Name: "", Path: "relative"},
					{Name: "workspace", ClaimName: "c"},
					{Name: "dup", ClaimName: "c", MountPath: "mnt"},
					{Name: "dup", ClaimName: "Bad_Claim"},
				},
				Env:         []EnvVar{{Name: ""}, {Name: "KILN_API_URL"}, {Name: "JUPYTER_TOKEN"}, {Name: "1BAD"}, {Name: "OK"}, {Name: "OK"}},
				IdleTimeout: &Duration{Duration: -time.Second},
			}},
			want: []string{
				"spec.resources.cpu: FieldValueInvalid",
				"spec.resources.memory: FieldValueInvalid",
				"spec.resources.gpu: FieldValueInvalid",
				"spec.workspace.size: FieldValueInvalid",
				"spec.workspace.storageClass: FieldValueInvalid",
				"spec.dataVolumes[0].name: FieldValueRequired",
				"spec.dataVolumes[0].path: FieldValueInvalid",
				"spec.dataVolumes[1].name: FieldValueInvalid",
				"spec.dataVolumes[2].mountPath: FieldValueInvalid",
				"spec.dataVolumes[3].name: FieldValueDuplicate",
				"spec.dataVolumes[3].claimName: FieldValueInvalid",
				"spec.env[0].name: FieldValueRequired",
				"spec.env[1].name: FieldValueForbidden",
				"spec.env[2].name: FieldValueForbidden",
				"spec.env[3].name: FieldValueInvalid",
				"spec.env[5].name: FieldValueDuplicate",
				"spec.idleTimeout: FieldValueInvalid",
			},
		},
		{
			name: "data volume without a source",
			nb:   Notebook{Name: "nb", Namespace: "ns", Spec: Spec{DataVolumes: []DataVolume{{Name: "d"}}}},
			want: []string{"spec.dataVolumes[0]: FieldValueRequired"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range tt.nb.Validate() {
				got = append(got, e.Field+": "+string(e.Type))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr bool
	}{
		{name: "minutes", in: `"30m"`, want: 30 * time.Minute},
		{name: "zero", in: `"0"`, want: 0},
		{name: "number is rejected", in: `1800`, wantErr: true},
		{name: "garbage", in: `"soon"`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Duration
			err := json.Unmarshal([]byte(tt.in), &d)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && d.Duration != tt.want {
				t.Errorf("got %s, want %s", d.Duration, tt.want)
			}
		})
	}
	b, _ := json.Marshal(Spec{IdleTimeout: &Duration{Duration: 90 * time.Second}})
	if diff := cmp.Diff(`{"idleTimeout":"1m30s"}`, string(b)); diff != "" {
		t.Errorf("marshal (-want +got):\n%s", diff)
	}
}
