package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// healthz is the liveness probe: the process answers.
func (s *server) healthz(c *gin.Context) {
	c.String(http.StatusOK, "ok\n")
}

// readyz is the readiness probe: the provider's discovery document is loaded, so sign-ins
// and refreshes can work.
func (s *server) readyz(c *gin.Context) {
	if s.Ready != nil && !s.Ready() {
		c.String(http.StatusServiceUnavailable, "identity provider discovery not loaded\n")
		return
	}
	c.String(http.StatusOK, "ok\n")
}
