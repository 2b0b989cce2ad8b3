package handlers

import (
	"errors"
	"html/template"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tokengate/tokengate/session"
)

// homePage is the public URL's root: where a sign-out lands by default (a refused rd too),
// and where a sign-in without rd ends. It says which of the two the browser is in.
var homePage = template.Must(template.New("home").Parse(pageHead +
	`{{if .User}}<h1>You are signed in</h1><p>as <strong>{{.User}}</strong>. Go back to your dashboard, or sign out of every dashboard here.</p>
<p><a class="button" href="/oauth2/sign_out">Sign out</a></p>
{{else}}<h1>You are signed out</h1><p>Your session has ended. Close this tab, or sign in again to go on.</p>
<p><a class="button" href="/oauth2/start">Sign in</a></p>
{{end}}<p><small>tokengate</small></p></body></html>
`))

// home answers GET / with the signed-out (or signed-in) page; non-HTML clients get one line
// of text.
func (s *server) home(c *gin.Context) {
	data := struct{ Title, User string }{Title: "Signed out"}
	sess, err := s.Sessions.Load(c.Request.Context(), c.Request)
	switch {
	case err == nil:
		data.Title, data.User = "Signed in", sess.PreferredUsername
		if data.User == "" {
			data.User = sess.Subject
		}
	case errors.Is(err, session.ErrStoreUnavailable):
		s.fail(c, errorf(http.StatusServiceUnavailable, "session store unavailable; retry shortly", err))
		return
	}
	if !wantsHTML(c) {
		c.Header("Cache-Control", "no-store")
		c.Header("X-Content-Type-Options", "nosniff")
		c.String(http.StatusOK, "%s\n", map[bool]string{true: "signed in", false: "signed out"}[data.User != ""])
		return
	}
	if err := writePage(c, http.StatusOK, homePage, data); err != nil {
		s.fail(c, err)
	}
}
