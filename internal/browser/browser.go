// Package browser is a scripted browser for tests: a cookie jar, redirects followed one hop
// at a time so each hop can be checked, and form submission for the development identity
// provider's login page. It is not used by the service itself.
package browser

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// maxHops bounds a redirect chain; a sign-in takes five.
const maxHops = 12

// Browser keeps cookies across requests like a real one.
type Browser struct {
	Client *http.Client
	// Hops lists every URL requested by the last Navigate, in order.
	Hops []string
}

// New returns a browser that sends requests through transport (nil: the default).
func New(transport http.RoundTripper) *Browser {
	jar, _ := cookiejar.New(nil) // cookiejar.New never fails without options
	return &Browser{Client: &http.Client{
		Transport:     transport,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Page is a fully read response.
type Page struct {
	URL    *url.URL
	Status int
	Header http.Header
	Body   []byte
}

// Navigate loads target as a top-level page navigation and follows redirects. It returns
// the last page.
func (b *Browser) Navigate(target string) (*Page, error) {
	return b.follow(http.MethodGet, target, nil)
}

// Fetch sends one request with extra headers and does not follow redirects (XHR style).
func (b *Browser) Fetch(method, target string, header http.Header) (*Page, error) {
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return b.do(req)
}

// SignIn submits the login form on page with the user's credentials (form fields
// "username" and "password", every other input kept as the page set it) and follows the
// redirects back to the application.
func (b *Browser) SignIn(page *Page, username, password string) (*Page, error) {
	action, fields, err := parseForm(page)
	if err != nil {
		return nil, err
	}
	fields.Set("username", username)
	fields.Set("password", password)
	return b.follow(http.MethodPost, action, fields)
}

// SubmitForm submits the page's first form with the given extra fields (for example the
// cancel button of the login page) and follows redirects.
func (b *Browser) SubmitForm(page *Page, extra url.Values) (*Page, error) {
	action, fields, err := parseForm(page)
	if err != nil {
		return nil, err
	}
	for k, v := range extra {
		fields[k] = v
	}
	return b.follow(http.MethodPost, action, fields)
}

func (b *Browser) follow(method, target string, form url.Values) (*Page, error) {
	b.Hops = b.Hops[:0]
	for hop := 0; hop < maxHops; hop++ {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, target, body)
		if err != nil {
			return nil, err
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		b.Hops = append(b.Hops, target)
		page, err := b.do(req)
		if err != nil {
			return nil, err
		}
		loc := page.Header.Get("Location")
		if page.Status < 300 || page.Status > 399 || loc == "" {
			return page, nil
		}
		next, err := page.URL.Parse(loc)
		if err != nil {
			return nil, fmt.Errorf("bad Location %q: %w", loc, err)
		}
		target, method, form = next.String(), http.MethodGet, nil
	}
	return nil, fmt.Errorf("more than %d redirects: %v", maxHops, b.Hops)
}

func (b *Browser) do(req *http.Request) (*Page, error) {
	resp, err := b.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	return &Page{URL: req.URL, Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// parseForm returns the absolute action and the input values of the page's first form.
func parseForm(page *Page) (string, url.Values, error) {
	doc, err := html.Parse(bytes.NewReader(page.Body))
	if err != nil {
		return "", nil, err
	}
	var form *html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if form == nil && n.Type == html.ElementNode && n.Data == "form" {
			form = n
		}
		for c := n.FirstChild; c != nil && form == nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if form == nil {
		return "", nil, errors.New("page has no form")
	}
	action, err := page.URL.Parse(attr(form, "action"))
	if err != nil {
		return "", nil, err
	}
	fields := url.Values{}
	var inputs func(*html.Node)
	inputs = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") != "" {
			switch attr(n, "type") {
			case "submit", "button", "checkbox", "radio":
			default:
				fields.Set(attr(n, "name"), attr(n, "value"))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			inputs(c)
		}
	}
	inputs(form)
	return action.String(), fields, nil
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
