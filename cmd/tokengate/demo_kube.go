package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/tokengate/tokengate/internal/config"
	"github.com/tokengate/tokengate/internal/devidp"
	"github.com/tokengate/tokengate/internal/localkube"
)

// demoKube is the real Kubernetes API server of `tokengate demo`: etcd and kube-apiserver
// from bin/, trusting the development provider's v1 issuer, which it serves over https on
// its own port (sts) because the API server fetches discovery only over https.
type demoKube struct {
	bins    localkube.Binaries
	ca      *localkube.CA
	sts     net.Listener
	dir     string
	cluster *localkube.Cluster
}

// kubeChoice resolves --kube: "off" runs none; "auto" runs one when make kube built the
// binaries; "required" fails without them. The string says what the demo will do and why.
func kubeChoice(mode string) (*localkube.Binaries, string, error) {
	if mode == "off" {
		return nil, "no Kubernetes API server (--kube=off)", nil
	}
	if mode != "auto" && mode != "required" {
		return nil, "", fmt.Errorf("%w: --kube: want auto, required or off, got %q", errUsage, mode)
	}
	bins, err := localkube.FindBinaries()
	switch {
	case err == nil:
		return &bins, "a real kube-apiserver " + localkube.Version, nil
	case mode == "required":
		return nil, "", fmt.Errorf("--kube=required: %w", err)
	}
	return nil, "no Kubernetes API server: " + err.Error(), nil
}

// newDemoKube listens for the https v1 issuer on localhost:port with a fresh test CA.
func newDemoKube(bins localkube.Binaries, port string) (*demoKube, error) {
	ca, err := localkube.NewCA(time.Now)
	if err != nil {
		return nil, fmt.Errorf("demo cluster: %w", err)
	}
	cert, err := ca.ServerCert()
	if err != nil {
		return nil, fmt.Errorf("demo cluster: %w", err)
	}
	ln, err := tls.Listen("tcp", net.JoinHostPort("localhost", port), &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, fmt.Errorf("demo v1 issuer: listen on localhost:%s: %w (choose another with --sts-port)", port, err)
	}
	return &demoKube{bins: bins, ca: ca, sts: ln}, nil
}

// stsURL is the v1 issuer's base URL, devidp.Config.STSBaseURL.
func (k *demoKube) stsURL() string {
	return "https://localhost:" + fmt.Sprint(k.sts.Addr().(*net.TCPAddr).Port)
}

// client trusts the test CA, for whatever fetches the v1 issuer's keys.
func (k *demoKube) client() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: k.ca.Pool(), MinVersion: tls.VersionTLS12}}}
}

// start runs etcd and kube-apiserver, applies the RBAC fixture for the sample users' groups
// and waits, bounded, until the API server accepts an app-only control token: until its JWT
// authenticator has loaded the issuer's keys it refuses every token, and the page must not
// show that start-up as a verdict on the user's token.
func (k *demoKube) start(ctx context.Context, idp *devidp.Provider, tokenURL, clientID, clientSecret string) error {
	var err error
	if k.dir, err = os.MkdirTemp("", "tokengate-demo-kube-"); err != nil {
		return fmt.Errorf("demo cluster: %w", err)
	}
	k.cluster, err = localkube.Start(ctx, localkube.Config{Binaries: k.bins, Dir: k.dir, CA: k.ca,
		Auth: localkube.AuthConfig{Entra: []localkube.Issuer{{URL: idp.AccessTokenIssuer(), CAPEM: k.ca.PEM()}}}})
	if err != nil {
		return fmt.Errorf("demo cluster: %w", err)
	}
	err = k.cluster.ApplyRBAC(ctx, localkube.RBACGroups{Admins: devidp.GroupPlatformAdmins, Team: devidp.GroupDevelopers})
	if err != nil {
		return fmt.Errorf("demo cluster: %w", err)
	}
	cc := clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret, TokenURL: tokenURL,
		Scopes: []string{config.AKSServerAppID + "/.default"}, AuthStyle: oauth2.AuthStyleInParams}
	tok, err := cc.Token(ctx)
	if err != nil {
		return fmt.Errorf("demo cluster: control token: %w", err)
	}
	if _, err := k.cluster.WaitAccepted(ctx, tok.AccessToken, time.Minute); err != nil {
		return fmt.Errorf("demo cluster: %w", err)
	}
	return nil
}

// stop stops the cluster and removes its directory.
func (k *demoKube) stop() error {
	var err error
	if k.cluster != nil {
		err = k.cluster.Stop()
	}
	if k.dir != "" {
		os.RemoveAll(k.dir)
	}
	return err
}
