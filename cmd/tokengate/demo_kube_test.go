package main

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/browser"
	"github.com/tokengate/tokengate/internal/localkube"
)

// TestDemoShowsAPIServerVerdict runs the demo with the real kube-apiserver and checks that
// the page shows what that server answered for each user: who they are, and whether RBAC
// lets them list the pods of team-b.
func TestDemoShowsAPIServerVerdict(t *testing.T) {
	bins, err := localkube.FindBinaries()
	if err != nil {
		if os.Getenv("E2E") == "required" {
			t.Fatalf("%v; E2E=required, so this fails", err)
		}
		t.Skipf("%v; skipping", err)
	}
	d := runTestDemo(t, demoOptions{ports: demoPorts{idp: "0", auth: "0", dashboard: "0", sts: "0"}, kube: &bins, debugPage: true}, 30*time.Second)
	for _, tc := range []struct {
		user, name string // name: the display name the debug page shows
		want       []string
	}{
		{user: "bob", name: "Bob Builder", want: []string{"Kubernetes API server " + localkube.Version, ">bob@contoso.example<", `"ok">200</span> 0 pods`}},
		{user: "guest", name: "Gail Guest", want: []string{">9e570000-0000-4000-8000-0000000009e5<", `"bad">403</span>`, "forbidden"}},
	} {
		t.Run(tc.user, func(t *testing.T) {
			b := browser.New(nil)
			page, err := b.Navigate(d.dashboardURL)
			mustNil(t, err)
			page, err = b.SignIn(page, tc.user, "password")
			mustNil(t, err)
			body := string(page.Body)
			for _, want := range tc.want {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q (status %d):\n%s", want, page.Status, body)
				}
			}
			if strings.Contains(body, "Checked locally: no Kubernetes API server") {
				t.Errorf("the page says no API server ran")
			}
			// --debug (on here) serves tokengate's debug page to the signed-in user.
			debug, err := b.Navigate(d.debugURL)
			mustNil(t, err)
			if debug.Status != http.StatusOK || !strings.Contains(string(debug.Body), tc.name) {
				t.Errorf("debug page %s: status %d; want 200 naming %s", d.debugURL, debug.Status, tc.name)
			}
		})
	}
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
