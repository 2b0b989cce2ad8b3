package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// envoyMethods are the methods Envoy may check besides GET and HEAD: the check request
// carries the client's own method.
var envoyMethods = []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// registerEnvoyRoutes accepts check requests for every method on /auth and /auth/<path>.
// Only in envoy mode: elsewhere /auth/<path> stays a 404 and POST /auth a 405.
func registerEnvoyRoutes(r *gin.Engine, s *server) {
	for _, m := range envoyMethods {
		r.Handle(m, authRoute, s.auth)
	}
	for _, m := range append([]string{http.MethodGet, http.MethodHead}, envoyMethods...) {
		r.Handle(m, authRoute+"/*path", s.auth)
	}
}
