package handlers

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"
)

// recovery turns a panic into a 500 without echoing the request: gin's own recovery dumps
// the request headers, session cookie included, into the log.
func recovery(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler {
				panic(rec) // the client went away; net/http handles this one quietly
			}
			logger.ErrorContext(c.Request.Context(), "panic in handler",
				"route", c.FullPath(), "panic", fmt.Sprintf("%T", rec), "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				c.Header("Content-Type", "text/plain; charset=utf-8")
				c.String(http.StatusInternalServerError, "internal error\n")
			}
			c.Abort()
		}()
		c.Next()
	}
}

// accessLog writes one line per request with the route pattern (never the query string,
// which holds the callback's code), the status and the latency. Successful /auth answers
// are the hot path and are not logged.
func accessLog(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		route := c.FullPath()
		level := slog.LevelInfo
		switch {
		case route == "/auth" || route == "/oauth2/auth" || route == "/healthz" || route == "/readyz":
			if status < http.StatusInternalServerError {
				level = slog.LevelDebug
			}
		case status >= http.StatusInternalServerError:
			level = slog.LevelError
		}
		if !logger.Enabled(c.Request.Context(), level) {
			return
		}
		if route == "" {
			route = "unmatched"
		}
		logger.Log(c.Request.Context(), level, "http request",
			"method", c.Request.Method, "route", route, "status", status,
			"duration_ms", float64(time.Since(start).Microseconds())/1000)
	}
}
