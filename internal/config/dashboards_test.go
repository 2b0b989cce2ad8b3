package config

import (
	"strings"
	"testing"
)

func TestDashboardsFromYAMLAndEnv(t *testing.T) {
	c := Defaults()
	ps := decodeYAML(&c, "test.yaml", []byte(`
dashboards:
  - name: tools
    hosts: ["*.tools.example.com"]
    headers:
      Authorization: Bearer ${token}
      X-Empty:
    bearerPassThrough:
      - issuerURL: https://sts.windows.net/t/
        audiences: [a1, a2]
`))
	if len(ps) != 0 {
		t.Fatalf("decode: %v", ps.err())
	}
	d := c.Dashboards[0]
	if d.Name != "tools" || d.Headers["Authorization"] != "Bearer ${token}" || d.Headers["X-Empty"] != "" || len(d.BearerPassThrough[0].Audiences) != 2 {
		t.Errorf("decoded %+v", d)
	}

	tests := []struct {
		name    string
		value   string
		wantKey string
	}{
		{name: "json", value: `[{"name":"g","preset":"grafana","hosts":["g.example.com"]}]`},
		{name: "unknown key", value: `[{"name":"g","hostz":["g.example.com"]}]`, wantKey: "TOKENGATE_DASHBOARDS[0].hostz"},
		{name: "not a list", value: `{"name":"g"}`, wantKey: "TOKENGATE_DASHBOARDS"},
		{name: "not yaml", value: `[{`, wantKey: "TOKENGATE_DASHBOARDS"},
		{name: "headers not a mapping", value: `[{"name":"g","headers":["a"]}]`, wantKey: "TOKENGATE_DASHBOARDS[0].headers"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			ps := applyEnv(&c, []string{"TOKENGATE_DASHBOARDS=" + tc.value})
			if tc.wantKey == "" {
				if len(ps) != 0 || len(c.Dashboards) != 1 || c.Dashboards[0].Preset != "grafana" {
					t.Fatalf("got %v, %+v; want one grafana dashboard", ps.err(), c.Dashboards)
				}
				return
			}
			if err := ps.err(); err == nil || !strings.Contains(err.Error(), tc.wantKey+":") {
				t.Errorf("err = %v; want a problem for %s", err, tc.wantKey)
			}
		})
	}
}
