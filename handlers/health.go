package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// healthz is the liveness probe: the process answers.
func (s *server) healthz(c *gin.Context) {
	c.String(http.StatusOK, "ok\n")
}

// readyz is the readiness probe: the provider's discovery document is loaded and the
// session store answers, so sign-ins and refreshes can work. The answer says which is not.
func (s *server) readyz(c *gin.Context) {
	if s.Ready != nil {
		if err := s.Ready(); err != nil {
			c.String(http.StatusServiceUnavailable, "not ready: %s\n", err)
			return
		}
	}
	c.String(http.StatusOK, "ok\n")
}
