package localkube

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindBinaries(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "exe")
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, apiserver, etcd string
		wantErr               bool
	}{
		{name: "both executable", apiserver: exe, etcd: exe},
		{name: "etcd missing", apiserver: exe, etcd: filepath.Join(dir, "nope"), wantErr: true},
		{name: "apiserver not executable", apiserver: plain, etcd: exe, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KUBE_APISERVER", tc.apiserver)
			t.Setenv("ETCD", tc.etcd)
			b, err := FindBinaries()
			if !tc.wantErr {
				if err != nil || b.APIServer != tc.apiserver || b.Etcd != tc.etcd {
					t.Fatalf("got %+v, %v; want the paths given", b, err)
				}
				return
			}
			if !errors.Is(err, ErrNoBinaries) || !strings.Contains(err.Error(), BuildCommand) {
				t.Fatalf("got %v; want ErrNoBinaries naming %q", err, BuildCommand)
			}
		})
	}
}
