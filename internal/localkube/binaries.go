package localkube

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Version is the Kubernetes release the binaries are built from (tools/kube-apiserver).
const Version = "v1.37.2"

// BuildCommand is what builds the binaries into bin/ when they are missing.
const BuildCommand = "make kube"

// ErrNoBinaries reports that etcd or kube-apiserver is not built yet; the error's text says
// which and how to build it.
var ErrNoBinaries = errors.New("kube-apiserver or etcd not built")

// Binaries are the paths of the two programs a cluster runs.
type Binaries struct {
	APIServer, Etcd string
}

// FindBinaries looks for kube-apiserver and etcd in $KUBE_APISERVER and $ETCD, else in the
// bin/ directory of the tokengate checkout that contains the working directory, which is
// where make kube builds them.
func FindBinaries() (Binaries, error) {
	b := Binaries{APIServer: os.Getenv("KUBE_APISERVER"), Etcd: os.Getenv("ETCD")}
	if b.APIServer == "" || b.Etcd == "" {
		root, err := moduleRoot()
		if err != nil {
			return b, fmt.Errorf("%w: %v; build them with %s in the tokengate checkout, or set KUBE_APISERVER and ETCD", ErrNoBinaries, err, BuildCommand)
		}
		if b.APIServer == "" {
			b.APIServer = filepath.Join(root, "bin", "kube-apiserver")
		}
		if b.Etcd == "" {
			b.Etcd = filepath.Join(root, "bin", "etcd")
		}
	}
	var missing []string
	for _, p := range []string{b.APIServer, b.Etcd} {
		if st, err := os.Stat(p); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return b, fmt.Errorf("%w: %s not found; build them once with %s (several minutes cold, cached in bin/ after that)", ErrNoBinaries, strings.Join(missing, " and "), BuildCommand)
	}
	return b, nil
}

// moduleRoot walks up from the working directory to the directory of tokengate's go.mod.
// Tests run in their package's directory, the demo usually at the root.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "module github.com/tokengate/tokengate\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the tokengate checkout")
		}
		dir = parent
	}
}
