package idp

import (
	"encoding/json"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// What an identity provider says about an error is not ours to trust: a provider, a proxy in
// front of it or an attacker-controlled issuer can echo the request (client_secret,
// refresh_token, code, client_assertion) into any text field. So logs and spans carry only the
// fields below, reduced to their syntax, and a description reaches nothing but the user's own
// error page, screened by PublicDescription.

// maxPublicText bounds a provider's description on a page or a doctor line.
const maxPublicText = 200

var (
	// errorCodeSyntax is the shape of every OAuth error code in RFC 6749 §5.2 and Entra's
	// suberrors; anything else is not logged.
	errorCodeSyntax = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	// aadstsSyntax finds Entra's error number at the start of a description.
	aadstsSyntax = regexp.MustCompile(`^AADSTS(\d{1,8})\b`)
	// guidSyntax is the shape of Entra's trace and correlation ids.
	guidSyntax = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// ErrorCode returns an OAuth error code fit for a log line: the code itself when it has the
// syntax of one, else "unrecognized".
func ErrorCode(code string) string {
	if errorCodeSyntax.MatchString(code) {
		return code
	}
	return "unrecognized"
}

// errorID returns a trace or correlation id when it is a GUID, else "".
func errorID(id string) string {
	if guidSyntax.MatchString(id) {
		return id
	}
	return ""
}

// aadstsOf returns Entra's error number: the first of error_codes, else the one a
// description starts with, else 0.
func aadstsOf(raw json.RawMessage, description string) int {
	var codes []int
	if json.Unmarshal(raw, &codes) == nil && len(codes) > 0 && codes[0] > 0 && codes[0] < 1e8 {
		return codes[0]
	}
	n := 0
	if m := aadstsSyntax.FindStringSubmatch(description); m != nil {
		for _, d := range m[1] {
			n = n*10 + int(d-'0')
		}
	}
	return n
}

// PublicDescription returns the first line of a provider's error description, cut short, for
// the page of the user whose sign-in it is about ("AADSTS65004: User declined to consent to
// access the app."). It returns "" when the text holds anything that looks like a credential
// or contains one of sent, the values of the request that failed: when unsure, say nothing.
// The caller still escapes it (html/template does).
func PublicDescription(description string, sent ...string) string {
	s := description
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if s == "" || !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) || looksLikeCredential(s) {
		return ""
	}
	for _, v := range sent {
		if len(v) >= 6 && strings.Contains(s, v) {
			return ""
		}
	}
	if len(s) > maxPublicText {
		cut := maxPublicText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// credentialWords mark text that quotes a request or a header rather than describing an
// error: form encoding, credentials by name, a JWT's first bytes.
var credentialWords = []string{"=", "&", "%3d", "%26", "secret", "password", "bearer ", "basic ", "eyj"}

// looksLikeCredential reports text with a credential marker or a long token-like run: at
// least 20 characters of base64/JWT alphabet mixing upper case, lower case and digits, which
// prose, URLs, GUIDs and AADSTS numbers never are.
func looksLikeCredential(s string) bool {
	lower := strings.ToLower(s)
	for _, w := range credentialWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	run, upper, low, digit := 0, false, false, false
	for _, r := range s + " " {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_.~+/", r)) {
			run++
			upper, low, digit = upper || unicode.IsUpper(r), low || unicode.IsLower(r), digit || unicode.IsDigit(r)
			continue
		}
		if run >= 20 && upper && low && digit {
			return true
		}
		run, upper, low, digit = 0, false, false, false
	}
	return false
}
