package session

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokengate/tokengate/internal/secret"
)

func newTestStore(t testing.TB, clock *testClock) *CookieStore {
	t.Helper()
	return NewCookieStore(newTestCodec(t, clock), CookieOptions{Domain: ".example.com"})
}

// save runs Save against a request carrying have and returns the Set-Cookies written.
func save(t *testing.T, s *CookieStore, sess *Session, have ...*http.Cookie) []*http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := s.Save(rec, requestWith(have...), sess); err != nil {
		t.Fatalf("Save: %v", err)
	}
	return rec.Result().Cookies()
}

func requestWith(cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://headlamp.example.com/", nil)
	for _, c := range cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

// live keeps the cookies a browser would store (not deletions).
func live(cookies []*http.Cookie) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range cookies {
		if c.MaxAge >= 0 {
			out = append(out, c)
		}
	}
	return out
}

func names(cookies []*http.Cookie) string {
	var n []string
	for _, c := range cookies {
		n = append(n, c.Name)
	}
	return strings.Join(n, ",")
}

// bigSession has 200 group GUIDs and an Entra-sized refresh token: too much for one cookie.
func bigSession(now time.Time) *Session {
	s := testSession(now)
	s.Groups = groupIDs(200)
	s.RefreshToken = secret.String(strings.Repeat("R", 1800))
	return s
}

func TestCookieStoreSaveAttributes(t *testing.T) {
	clock := newTestClock()
	s := newTestStore(t, clock)
	rec := httptest.NewRecorder()
	if err := s.Save(rec, requestWith(), testSession(clock.Now())); err != nil {
		t.Fatalf("Save: %v", err)
	}
	headers := rec.Header().Values("Set-Cookie")
	if len(headers) != 1 {
		t.Fatalf("Set-Cookie headers = %q; want exactly one", headers)
	}
	for _, attr := range []string{"Secure", "HttpOnly", "SameSite=Lax", "Domain=example.com", "Path=/", "Max-Age=28800"} {
		if !strings.Contains(headers[0], "; "+attr) {
			t.Errorf("Set-Cookie %q lacks %q", headers[0], attr)
		}
	}
	if !strings.HasPrefix(headers[0], DefaultCookieName+"=") {
		t.Errorf("Set-Cookie %q; want the cookie named %s", headers[0], DefaultCookieName)
	}
	if strings.Contains(headers[0], "refresh-token-value") || strings.Contains(headers[0], "Ada") {
		t.Errorf("Set-Cookie carries session fields in the clear: %q", headers[0])
	}
}

func TestCookieStoreRoundTrip(t *testing.T) {
	clock := newTestClock()
	s := newTestStore(t, clock)
	typical := testSession(clock.Now())
	typical.Groups = groupIDs(20)
	typical.RefreshToken = secret.String(strings.Repeat("r", 1800))
	tests := []struct {
		name       string
		sess       *Session
		wantChunks int // 0: a single cookie
	}{
		{name: "small", sess: testSession(clock.Now())},
		{name: "typical Entra session stays single", sess: typical},
		{name: "200 groups chunk", sess: bigSession(clock.Now()), wantChunks: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := s.Save(rec, requestWith(), tt.sess); err != nil {
				t.Fatalf("Save: %v", err)
			}
			for _, h := range rec.Header().Values("Set-Cookie") {
				if len(h) > maxCookieLen {
					t.Errorf("Set-Cookie of %d bytes; want at most %d", len(h), maxCookieLen)
				}
			}
			cookies := rec.Result().Cookies()
			want := DefaultCookieName
			if tt.wantChunks > 0 {
				want = "_tokengate_0,_tokengate_1"
			}
			if got := names(cookies); got != want {
				t.Fatalf("cookies = %s; want %s", got, want)
			}
			got, err := s.Load(context.Background(), requestWith(cookies...))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(got, tt.sess) {
				t.Errorf("Load = %+v; want %+v", got, tt.sess)
			}
		})
	}
}

func TestCookieStoreChunksInAnyHeaderOrder(t *testing.T) {
	clock := newTestClock()
	s := newTestStore(t, clock)
	cookies := save(t, s, bigSession(clock.Now()))
	reversed := []*http.Cookie{cookies[1], cookies[0]}
	if _, err := s.Load(context.Background(), requestWith(reversed...)); err != nil {
		t.Errorf("Load with chunks in reverse order: %v", err)
	}
}

func TestCookieStoreSaveDeletesStale(t *testing.T) {
	clock := newTestClock()
	s := newTestStore(t, clock)
	small, big := testSession(clock.Now()), bigSession(clock.Now())
	old := func(names ...string) []*http.Cookie {
		var cs []*http.Cookie
		for _, n := range names {
			cs = append(cs, &http.Cookie{Name: n, Value: "old"})
		}
		return cs
	}
	tests := []struct {
		name        string
		sess        *Session
		have        []*http.Cookie
		wantLive    string
		wantDeleted string
	}{
		{name: "chunks to single", sess: small, have: old("_tokengate_0", "_tokengate_1", "_tokengate_2"),
			wantLive: "_tokengate", wantDeleted: "_tokengate_0,_tokengate_1,_tokengate_2"},
		{name: "single to chunks", sess: big, have: old("_tokengate", "other"),
			wantLive: "_tokengate_0,_tokengate_1", wantDeleted: "_tokengate"},
		{name: "fewer chunks", sess: big, have: old("_tokengate_0", "_tokengate_1", "_tokengate_5", "_tokengate_5"),
			wantLive: "_tokengate_0,_tokengate_1", wantDeleted: "_tokengate_5"},
		{name: "same shape", sess: small, have: old("_tokengate"), wantLive: "_tokengate"},
		{name: "not ours", sess: small, have: old("_tokengate_x", "_tokengate_01", "_tokengate_16", "_tokengatex"),
			wantLive: "_tokengate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cookies := save(t, s, tt.sess, tt.have...)
			if got := names(live(cookies)); got != tt.wantLive {
				t.Errorf("set = %s; want %s", got, tt.wantLive)
			}
			if got := names(cookies[len(live(cookies)):]); got != tt.wantDeleted {
				t.Errorf("deleted = %s; want %s (after the live cookies)", got, tt.wantDeleted)
			}
			for _, c := range cookies {
				if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Domain != "example.com" || c.Path != "/" {
					t.Errorf("cookie %s = %+v; want Secure, HttpOnly, Lax, Domain, Path", c.Name, c)
				}
			}
		})
	}
}

func TestCookieStoreLoadFails(t *testing.T) {
	clock := newTestClock()
	s := newTestStore(t, clock)
	sess := testSession(clock.Now())
	single := save(t, s, sess)[0]
	chunks := save(t, s, bigSession(clock.Now()))
	csrfValue, _ := s.codec.Seal("_tokengate_csrf_abc", encodeSession(nil, sess), sess.ExpiresAt)
	other := NewCookieStore(s.codec, CookieOptions{Name: "_other"})
	otherRec := httptest.NewRecorder()
	if err := other.Save(otherRec, requestWith(), sess); err != nil {
		t.Fatalf("Save: %v", err)
	}
	ended := testSession(clock.Now())
	ended.ExpiresAt = clock.Now().Add(-time.Second)
	endedValue, _ := s.codec.Seal(DefaultCookieName, encodeSession(nil, ended), clock.Now().Add(time.Hour))
	notSession, _ := s.codec.Seal(DefaultCookieName, []byte("not a session"), clock.Now().Add(time.Hour))

	cookie := func(name, value string) *http.Cookie { return &http.Cookie{Name: name, Value: value} }
	tests := []struct {
		name      string
		cookies   []*http.Cookie
		wantCause error
	}{
		{name: "no cookie", wantCause: http.ErrNoCookie},
		{name: "empty value", cookies: []*http.Cookie{cookie(DefaultCookieName, "")}, wantCause: ErrInvalid},
		{name: "tampered", cookies: []*http.Cookie{cookie(DefaultCookieName, tamper(single.Value))}, wantCause: ErrInvalid},
		{name: "other purpose", cookies: []*http.Cookie{cookie(DefaultCookieName, csrfValue)}, wantCause: ErrInvalid},
		{name: "other cookie name", cookies: []*http.Cookie{cookie(DefaultCookieName, otherRec.Result().Cookies()[0].Value)}, wantCause: ErrInvalid},
		{name: "not a session", cookies: []*http.Cookie{cookie(DefaultCookieName, notSession)}, wantCause: ErrInvalid},
		{name: "session ended inside the seal", cookies: []*http.Cookie{cookie(DefaultCookieName, endedValue)}, wantCause: ErrExpired},
		{name: "first chunk missing", cookies: chunks[1:], wantCause: ErrInvalid},
		{name: "last chunk missing", cookies: chunks[:1], wantCause: ErrInvalid},
		{name: "chunks swapped", cookies: []*http.Cookie{cookie(chunks[0].Name, chunks[1].Value), cookie(chunks[1].Name, chunks[0].Value)}, wantCause: ErrInvalid},
		{name: "chunk from another session", cookies: []*http.Cookie{chunks[0], cookie(chunks[1].Name, single.Value)}, wantCause: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Load(context.Background(), requestWith(tt.cookies...))
			if !errors.Is(err, ErrNoSession) || !errors.Is(err, tt.wantCause) {
				t.Errorf("Load = %+v, %v; want ErrNoSession wrapping %v", got, err, tt.wantCause)
			}
		})
	}
}

// tamper changes one character in the middle of a sealed value.
func tamper(v string) string {
	i := len(v) / 2
	c := byte('A')
	if v[i] == c {
		c = 'B'
	}
	return v[:i] + string(c) + v[i+1:]
}

func TestCookieStoreLoadMissingMiddleChunk(t *testing.T) {
	clock := newTestClock()
	s := newTestStore(t, clock)
	sess := bigSession(clock.Now())
	sess.RefreshToken = secret.String(strings.Repeat("R", 6000)) // three chunks or more
	chunks := save(t, s, sess)
	if len(chunks) < 3 {
		t.Fatalf("got %d chunks; want at least 3", len(chunks))
	}
	got, err := s.Load(context.Background(), requestWith(chunks[0], chunks[2]))
	if !errors.Is(err, ErrNoSession) || !strings.Contains(err.Error(), "chunk 1 of 3 missing") {
		t.Errorf("Load = %+v, %v; want ErrNoSession for the missing chunk 1", got, err)
	}
}

func TestCookieStoreLoadExpired(t *testing.T) {
	clock := newTestClock()
	s := newTestStore(t, clock)
	sess := testSession(clock.Now())
	cookies := save(t, s, sess)
	clock.Advance(sess.ExpiresAt.Sub(clock.Now()) - time.Second)
	if _, err := s.Load(context.Background(), requestWith(cookies...)); err != nil {
		t.Fatalf("Load a second before the end: %v", err)
	}
	clock.Advance(time.Second)
	if got, err := s.Load(context.Background(), requestWith(cookies...)); !errors.Is(err, ErrNoSession) || !errors.Is(err, ErrExpired) {
		t.Errorf("Load at the end = %+v, %v; want ErrNoSession wrapping ErrExpired", got, err)
	}
}

func TestCookieStoreLoadPrefersAWorkingDuplicate(t *testing.T) {
	clock := newTestClock()
	s := newTestStore(t, clock)
	good := save(t, s, testSession(clock.Now()))[0]
	bad := &http.Cookie{Name: DefaultCookieName, Value: "garbage"}
	if _, err := s.Load(context.Background(), requestWith(bad, good)); err != nil {
		t.Errorf("Load with a bad duplicate first: %v", err)
	}
}

func TestCookieStoreSaveFails(t *testing.T) {
	clock := newTestClock()
	ended := testSession(clock.Now())
	ended.ExpiresAt = clock.Now().Add(500 * time.Millisecond)
	huge := testSession(clock.Now())
	huge.RefreshToken = secret.String(strings.Repeat("R", 60000))
	tests := []struct {
		name  string
		store *CookieStore
		sess  *Session
	}{
		{name: "ends in under a second", store: newTestStore(t, clock), sess: ended},
		{name: "too large for 16 cookies", store: newTestStore(t, clock), sess: huge},
		{name: "invalid cookie name", store: NewCookieStore(newTestCodec(t, clock), CookieOptions{Name: "bad name"}), sess: testSession(clock.Now())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := tt.store.Save(rec, requestWith(), tt.sess); err == nil {
				t.Error("Save succeeded; want an error")
			}
			if got := rec.Header().Values("Set-Cookie"); len(got) != 0 {
				t.Errorf("Save failed but wrote %q", got)
			}
		})
	}
}

func TestCookieStoreClear(t *testing.T) {
	clock := newTestClock()
	s := newTestStore(t, clock)
	tests := []struct {
		name string
		have []*http.Cookie
		want string
	}{
		{name: "nothing carried", want: "_tokengate"},
		{name: "single", have: []*http.Cookie{{Name: "_tokengate", Value: "x"}}, want: "_tokengate"},
		{name: "infers lower chunks", have: []*http.Cookie{{Name: "_tokengate_2", Value: "x"}},
			want: "_tokengate,_tokengate_0,_tokengate_1,_tokengate_2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.Clear(rec, requestWith(tt.have...))
			cookies := rec.Result().Cookies()
			if got := names(cookies); got != tt.want {
				t.Errorf("cleared %s; want %s", got, tt.want)
			}
			for _, c := range cookies {
				if c.MaxAge >= 0 || c.Value != "" || !c.Secure || c.Domain != "example.com" {
					t.Errorf("cookie %+v; want an empty, expired, Secure cookie on the domain", c)
				}
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	clock := newTestClock()
	s := newTestStore(f, clock)
	f.Add("_tokengate=abc")
	f.Add("_tokengate_0=AQ; _tokengate_1=AQ; _tokengate_15=x")
	f.Add("_tokengate_3=; _tokengate=")
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest(http.MethodGet, "https://a.example.com/", nil)
		r.Header.Set("Cookie", header)
		if got, err := s.Load(context.Background(), r); !errors.Is(err, ErrNoSession) {
			t.Fatalf("Load(%q) = %+v, %v; want ErrNoSession", header, got, err)
		}
	})
}

// BenchmarkCookieStoreLoad opens the cookie every time (the opened-session cache is off):
// the cost of a session's first request on a replica.
func BenchmarkCookieStoreLoad(b *testing.B) {
	clock := newTestClock()
	s := NewCookieStore(newTestCodec(b, clock), CookieOptions{Domain: ".example.com", OpenedCacheBytes: -1})
	rec := httptest.NewRecorder()
	if err := s.Save(rec, requestWith(), testSession(clock.Now())); err != nil {
		b.Fatal(err)
	}
	r := requestWith(rec.Result().Cookies()...)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Load(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}
