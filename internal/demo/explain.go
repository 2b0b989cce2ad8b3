package demo

import (
	"strings"
	"time"

	"github.com/tokengate/tokengate/internal/doctor"
)

// explainPath is the dashboard page that shows doctor's explanation of the token it got.
const explainPath = "/explain"

// explain runs the explanation of `tokengate doctor --token` on the bearer token of an
// Authorization header: what an AKS API server would say about it. The report names claims
// and never prints the token (doctor redacts it).
func explain(authorization string) string {
	raw, ok := strings.CutPrefix(authorization, "Bearer ")
	if !ok {
		return "no bearer token on the request"
	}
	var b strings.Builder
	if err := doctor.ExplainToken(raw, nil, time.Now()).Write(&b); err != nil {
		return "explain: " + err.Error()
	}
	return b.String()
}
