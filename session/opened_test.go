package session

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"
)

func TestOpenedSessionsServeRepeatLoads(t *testing.T) {
	clock := newTestClock()
	store := newTestStore(t, clock)
	cookies := save(t, store, testSession(clock.Now()))
	first, err := store.Load(context.Background(), requestWith(cookies...))
	if err != nil {
		t.Fatal(err)
	}
	second, err := store.Load(context.Background(), requestWith(cookies...))
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Error("a repeat load opened the cookie again; want the remembered session")
	}

	other := testSession(clock.Now())
	other.ID, other.Subject = "another-session-id-0000", "another-user"
	otherCookies := save(t, store, other)
	got, err := store.Load(context.Background(), requestWith(otherCookies...))
	if err != nil || got.Subject != "another-user" {
		t.Errorf("another cookie loaded %v, %v; want its own session", got, err)
	}

	clock.Advance(13 * time.Hour)
	if _, err := store.Load(context.Background(), requestWith(cookies...)); !errors.Is(err, ErrNoSession) {
		t.Errorf("a remembered session past its end loaded with err %v; want ErrNoSession", err)
	}
}

func TestOpenedSessionsStayUnderTheirBound(t *testing.T) {
	o := newOpenedSessions(openedShards * 4000)
	clock := newTestClock()
	for i := range 500 {
		s := testSession(clock.Now())
		o.put(string(rune('a'+i%26))+time.Duration(i).String()+string(make([]byte, 1000)), s)
	}
	var total int64
	for i := range o.shards {
		total += o.shards[i].bytes
		if o.shards[i].bytes > o.maxShardBytes {
			t.Errorf("shard %d holds %d bytes; bound %d", i, o.shards[i].bytes, o.maxShardBytes)
		}
	}
	if total == 0 {
		t.Error("nothing was kept")
	}
}

func TestOpenedSessionsCanBeTurnedOff(t *testing.T) {
	clock := newTestClock()
	codec, err := NewCodec([][]byte{testKey(1)}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	store := NewCookieStore(codec, CookieOptions{OpenedCacheBytes: -1})
	cookies := save(t, store, testSession(clock.Now()))
	a, _ := store.Load(context.Background(), requestWith(cookies...))
	b, _ := store.Load(context.Background(), requestWith(cookies...))
	if a == nil || a == b {
		t.Error("with the cache off, each load must open the cookie")
	}
}

func BenchmarkCookieStoreLoadRemembered(b *testing.B) {
	clock := newTestClock()
	s := newTestStore(b, clock)
	rec := httptest.NewRecorder()
	if err := s.Save(rec, requestWith(), testSession(clock.Now())); err != nil {
		b.Fatal(err)
	}
	r := requestWith(rec.Result().Cookies()...)
	r.Header.Set("Cookie", "theme=dark; _ga=GA1.2.3; "+r.Header.Get("Cookie"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Load(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}
