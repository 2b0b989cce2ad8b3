package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/browser"
	"github.com/tokengate/tokengate/internal/devidp"
)

// TestDemoExplainsWhatUsersSee: the demo names every sample account, and its dashboard
// explains what would otherwise puzzle a newcomer: the overage user's empty group list, the
// guest's missing upn, and what doctor says about the token, without showing the token.
func TestDemoExplainsWhatUsersSee(t *testing.T) {
	d := startTestDemo(t)
	tests := []struct {
		user    string
		want    []string
		notWant []string
	}{
		{user: "overage", want: []string{"Groups (0)", "groups overage claim", "getMemberObjects"}},
		{user: "guest", want: []string{"no <code>upn</code> for guest", "9e570000-0000-4000-8000-0000000009e5"}},
		{user: "alice", want: []string{"alice@contoso.example", "Explain this token"}, notWant: []string{"groups overage claim", "for guest"}},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			b := browser.New(nil)
			page, err := b.Navigate(d.dashboardURL)
			if err != nil {
				t.Fatal(err)
			}
			if page, err = b.SignIn(page, tt.user, "password"); err != nil {
				t.Fatal(err)
			}
			body := string(page.Body)
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("dashboard page for %s lacks %q", tt.user, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(body, w) {
					t.Errorf("dashboard page for %s shows %q", tt.user, w)
				}
			}
			explained, err := b.Navigate(strings.TrimSuffix(d.dashboardURL, "/") + "/explain")
			if err != nil {
				t.Fatal(err)
			}
			text := string(explained.Body)
			if !strings.Contains(text, "6dae42f8-4368-4678-94ff-3960e28e3630") || !strings.Contains(text, "✓") {
				t.Errorf("/explain for %s does not show doctor's report:\n%s", tt.user, text)
			}
			if strings.Contains(text, "eyJ") {
				t.Errorf("/explain for %s shows a JWT", tt.user)
			}
		})
	}
}

// TestDemoListsEveryAccount: the demo's start text names each sample account.
func TestDemoListsEveryAccount(t *testing.T) {
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // print the banner, then stop at once
	if err := demoCommand(ctx, []string{"--idp-port", "0", "--auth-port", "0", "--dashboard-port", "0", "--kube", "off"}, &out, io.Discard); err != nil {
		t.Fatalf("demo: %v", err)
	}
	for _, u := range devidp.SampleUsers() {
		if !strings.Contains(out.String(), "    "+u.Username+" ") {
			t.Errorf("demo text does not list the account %s:\n%s", u.Username, out.String())
		}
	}
}

// startTestDemo runs `tokengate demo` on free ports until the test ends.
func startTestDemo(t *testing.T) *runningDemo {
	t.Helper()
	return runTestDemo(t, demoOptions{ports: demoPorts{idp: "0", auth: "0", dashboard: "0"}}, 10*time.Second)
}

// runTestDemo starts the demo with o and waits until it is ready; it stops the demo when the
// test ends, failing the test if that takes longer than stop.
func runTestDemo(t *testing.T, o demoOptions, stop time.Duration) *runningDemo {
	t.Helper()
	d, err := startDemo(o, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("startDemo: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done, ready := make(chan error, 1), make(chan struct{})
	go func() { done <- d.run(ctx, func() { close(ready) }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo run: %v", err)
			}
		case <-time.After(stop):
			t.Error("demo did not stop")
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("demo ended before it was ready: %v", err)
	}
	waitFor(t, "discovery", d.app.idp.Ready)
	return d
}
