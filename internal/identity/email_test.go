package identity

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseEmailHostile(t *testing.T) {
	tests := []struct {
		name  string
		input string
		// reason is a part of the error a person reads on the refusal page.
		reason string
	}{
		{name: "empty", input: "", reason: "empty"},
		{name: "two @, allowed domain last", input: "attacker@evil.com@example.com", reason: "more than one @"},
		{name: "three @", input: "a@b@c@example.com", reason: "more than one @"},
		{name: "@ at the end", input: "a@example.com@", reason: "more than one @"},
		{name: "no @", input: "example.com", reason: "no @"},
		{name: "nothing before @", input: "@example.com", reason: "before the @"},
		{name: "nothing after @", input: "alice@", reason: "after @"},
		{name: "display name", input: "Alice <alice@example.com>", reason: "display name"},
		{name: "angle brackets", input: "<alice@example.com>", reason: "display name"},
		{name: "comment", input: "alice(x)@example.com", reason: "comment"},
		{name: "comment hiding a domain", input: "attacker@evil.com(@example.com)", reason: "comment"},
		{name: "quoted local part with @", input: `"attacker@evil.com"@example.com`, reason: "quoted"},
		{name: "quoted local part", input: `"alice"@example.com`, reason: "quoted"},
		{name: "address literal", input: "alice@[10.0.0.1]", reason: "address literal"},
		{name: "ip domain", input: "alice@10.0.0.1", reason: "number"},
		{name: "space", input: "alice @example.com", reason: "spaces"},
		{name: "leading space", input: " alice@example.com", reason: "spaces"},
		{name: "newline", input: "alice@example.com\n", reason: "control"},
		{name: "nul", input: "alice@example.com\x00.evil", reason: "control"},
		{name: "trailing dot domain", input: "alice@example.com.", reason: "ends with a dot"},
		{name: "leading dot domain", input: "alice@.example.com", reason: "starts with a dot"},
		{name: "empty label", input: "alice@example..com", reason: "IDNA2008"},
		{name: "single-label domain", input: "alice@localhost", reason: "two labels"},
		{name: "dot at start of local part", input: ".alice@example.com", reason: "dot"},
		{name: "dot at end of local part", input: "alice.@example.com", reason: "dot"},
		{name: "double dot in local part", input: "al..ice@example.com", reason: "dot"},
		{name: "backslash", input: `alice\@example.com`, reason: "outside plain ASCII"},
		{name: "comma list", input: "alice@example.com,bob@example.com", reason: "more than one @"},
		{name: "non-ASCII local part", input: "аlice@example.com", reason: "outside plain ASCII"},
		{name: "full-width domain look-alike", input: "alice@ｅｘａｍｐｌｅ.com", reason: "look-alike"},
		{name: "full-width @", input: "alice＠example.com", reason: "no @"},
		{name: "zero-width space in domain", input: "alice@exa\u200bmple.com", reason: "IDNA2008"},
		{name: "invalid punycode", input: "alice@xn--zz.com", reason: "IDNA2008"},
		{name: "underscore in domain", input: "alice@ex_ample.com", reason: "IDNA2008"},
		{name: "very long local part", input: strings.Repeat("a", 65) + "@example.com", reason: "longer than 64"},
		{name: "very long address", input: "a@" + strings.Repeat("b", 250) + ".com", reason: "longer than 254"},
		{name: "very long label", input: "a@" + strings.Repeat("b", 64) + ".com", reason: "IDNA2008"},
		{name: "invalid UTF-8", input: "alice@ex\xffample.com", reason: "IDNA2008"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseEmail(tt.input)
			if err == nil {
				t.Fatalf("ParseEmail(%q) = %q; want an error", tt.input, e)
			}
			if !errors.Is(err, ErrNotEmail) {
				t.Errorf("ParseEmail(%q) error %v; want it to wrap ErrNotEmail", tt.input, err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("ParseEmail(%q) error %q; want it to say %q", tt.input, err, tt.reason)
			}
		})
	}
}

func TestParseEmailGood(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    string // String()
		wantKey string
	}{
		{name: "plain", input: "alice@example.com", want: "alice@example.com", wantKey: "alice@example.com"},
		{name: "upper-case domain", input: "alice@EXAMPLE.Com", want: "alice@example.com", wantKey: "alice@example.com"},
		{name: "upper-case local part kept, folded in key", input: "Alice.Smith@Example.com", want: "Alice.Smith@example.com", wantKey: "alice.smith@example.com"},
		{name: "idn domain", input: "alice@bücher.de", want: "alice@xn--bcher-kva.de", wantKey: "alice@xn--bcher-kva.de"},
		{name: "punycode domain", input: "alice@XN--BCHER-KVA.de", want: "alice@xn--bcher-kva.de", wantKey: "alice@xn--bcher-kva.de"},
		{name: "cyrillic look-alike is its own domain", input: "alice@еxample.com", want: "alice@xn--xample-2of.com", wantKey: "alice@xn--xample-2of.com"},
		{name: "sharp s stays distinct", input: "a@straße.de", want: "a@xn--strae-oqa.de", wantKey: "a@xn--strae-oqa.de"},
		{name: "atext", input: "a+tag!#$%&'*/=?^_`{|}~-x@example.com", want: "a+tag!#$%&'*/=?^_`{|}~-x@example.com", wantKey: "a+tag!#$%&'*/=?^_`{|}~-x@example.com"},
		{name: "guest-style local part", input: "live.com#alice@example.com", want: "live.com#alice@example.com", wantKey: "live.com#alice@example.com"},
		{name: "dots in local part", input: "a.b.c@sub.example.co.uk", want: "a.b.c@sub.example.co.uk", wantKey: "a.b.c@sub.example.co.uk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseEmail(tt.input)
			if err != nil {
				t.Fatalf("ParseEmail(%q): %v", tt.input, err)
			}
			if got := e.String(); got != tt.want {
				t.Errorf("ParseEmail(%q).String() = %q; want %q", tt.input, got, tt.want)
			}
			if got := e.Key(); got != tt.wantKey {
				t.Errorf("ParseEmail(%q).Key() = %q; want %q", tt.input, got, tt.wantKey)
			}
		})
	}
}

func TestUserKey(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    string
		wantErr bool
	}{
		{name: "upper-case login", input: "ALICE", want: "alice"},
		{name: "oid", input: "0A1B2C3D-0000-4000-8000-000000000001", want: "0a1b2c3d-0000-4000-8000-000000000001"},
		{name: "upn is an e-mail", input: "Alice@Contoso.COM", want: "alice@contoso.com"},
		{name: "kelvin sign is not k", input: "\u212Aim", want: "\u212Aim"},
		{name: "dotted capital I is not i", input: "\u0130van", want: "\u0130van"},
		{name: "empty", input: "", wantErr: true},
		{name: "space", input: "alice ", wantErr: true},
		{name: "control", input: "al\x00ice", wantErr: true},
		{name: "two @", input: "attacker@evil.com@example.com", wantErr: true},
		{name: "trailing dot domain", input: "alice@example.com.", wantErr: true},
		{name: "very long", input: strings.Repeat("a", 257), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := UserKey(tt.input)
			if (err != nil) != tt.wantErr {
				t.Fatalf("UserKey(%q) error %v; want error %v", tt.input, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("UserKey(%q) = %q; want %q", tt.input, got, tt.want)
			}
		})
	}
}

func TestASCIILowerLeavesNonASCII(t *testing.T) {
	in := "AbC\u212A\u0130Ä"
	if got, want := ASCIILower(in), "abc\u212A\u0130Ä"; got != want {
		t.Errorf("ASCIILower(%q) = %q; want %q", in, got, want)
	}
}

// FuzzParseEmail checks, independently of the parser's own steps, that an accepted address
// has one "@", a plain ASCII local part, and a domain that is lower-case ASCII in
// punycode form, stable under a second parse.
func FuzzParseEmail(f *testing.F) {
	for _, s := range []string{
		"alice@example.com", "attacker@evil.com@example.com", `"a@b"@example.com`, "Alice <a@b.c>",
		"a@bücher.de", "a@example.com.", "a@ｅｘａｍｐｌｅ.com", "a(b)@c.d", "a@[1.2.3.4]", "a@xn--bcher-kva.de",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		e, err := ParseEmail(input)
		if err != nil {
			if !errors.Is(err, ErrNotEmail) {
				t.Fatalf("ParseEmail(%q) error %v does not wrap ErrNotEmail", input, err)
			}
			return
		}
		if strings.Count(input, "@") != 1 {
			t.Fatalf("ParseEmail accepted %q with %d @", input, strings.Count(input, "@"))
		}
		local, _, _ := strings.Cut(input, "@")
		if e.Local != local {
			t.Fatalf("ParseEmail(%q).Local = %q; want %q", input, e.Local, local)
		}
		for _, s := range []string{e.Local, e.Domain} {
			for i := 0; i < len(s); i++ {
				if c := s[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`"()<>[]\,;:@`, c) >= 0 {
					t.Fatalf("ParseEmail(%q) = %q: byte %q must not survive", input, e, c)
				}
			}
		}
		if e.Domain != strings.ToLower(e.Domain) || strings.HasSuffix(e.Domain, ".") || !utf8.ValidString(e.Domain) {
			t.Fatalf("ParseEmail(%q) domain %q is not lower-case ASCII without a trailing dot", input, e.Domain)
		}
		again, err := ParseEmail(e.String())
		if err != nil || again != e {
			t.Fatalf("ParseEmail(%q) = %q, which parses again as %q (%v)", input, e, again, err)
		}
	})
}
