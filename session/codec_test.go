package session

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func newTestCodec(t testing.TB, clock *testClock, keys ...[]byte) *Codec {
	t.Helper()
	if len(keys) == 0 {
		keys = [][]byte{testKey(1)}
	}
	c, err := NewCodec(keys, clock.Now)
	if err != nil {
		t.Fatalf("NewCodec: %v", err)
	}
	return c
}

func TestNewCodecRejectsBadKeys(t *testing.T) {
	tests := []struct {
		name string
		keys [][]byte
	}{
		{name: "no keys", keys: nil},
		{name: "short key", keys: [][]byte{make([]byte, 16)}},
		{name: "long key", keys: [][]byte{make([]byte, 33)}},
		{name: "second key bad", keys: [][]byte{testKey(1), make([]byte, 31)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewCodec(tt.keys, nil); err == nil {
				t.Error("NewCodec succeeded; want an error")
			}
		})
	}
}

func TestCodecRoundTrip(t *testing.T) {
	clock := newTestClock()
	c := newTestCodec(t, clock)
	tests := []struct {
		name      string
		plaintext []byte
	}{
		{name: "empty", plaintext: []byte{}},
		{name: "short", plaintext: []byte("hello")},
		{name: "binary", plaintext: []byte{0, 1, 2, 255, '\n'}},
		{name: "large", plaintext: bytes.Repeat([]byte("x"), 20000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := c.Seal("purpose", tt.plaintext, clock.Now().Add(time.Hour))
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			if strings.ContainsAny(sealed, "=+/ ;,\"") {
				t.Errorf("sealed value %q is not cookie-safe base64url", sealed)
			}
			got, err := c.Open("purpose", sealed)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Errorf("Open = %q; want %q", got, tt.plaintext)
			}
		})
	}
}

func TestCodecSealIsRandomized(t *testing.T) {
	clock := newTestClock()
	c := newTestCodec(t, clock)
	a, _ := c.Seal("p", []byte("same"), clock.Now().Add(time.Hour))
	b, _ := c.Seal("p", []byte("same"), clock.Now().Add(time.Hour))
	if a == b {
		t.Error("two seals of the same value are equal; want a fresh nonce each time")
	}
}

func TestCodecOpenRejects(t *testing.T) {
	clock := newTestClock()
	c := newTestCodec(t, clock)
	other := newTestCodec(t, clock, testKey(2))
	exp := clock.Now().Add(time.Hour)
	good, err := c.Seal("session", []byte("payload"), exp)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	foreign, _ := other.Seal("session", []byte("payload"), exp)
	raw, _ := sealEncoding.DecodeString(good)
	otherVersion := append([]byte{2}, raw[1:]...)

	tests := []struct {
		name    string
		purpose string
		sealed  string
	}{
		{name: "empty", purpose: "session", sealed: ""},
		{name: "garbage", purpose: "session", sealed: "not a sealed value!"},
		{name: "wrong key", purpose: "session", sealed: foreign},
		{name: "purpose mismatch", purpose: "_tokengate_csrf_abc", sealed: good},
		{name: "purpose prefix", purpose: "sessio", sealed: good},
		{name: "truncated by one", purpose: "session", sealed: good[:len(good)-1]},
		{name: "truncated to header", purpose: "session", sealed: good[:20]},
		{name: "extended", purpose: "session", sealed: good + "AAAA"},
		{name: "unknown version", purpose: "session", sealed: sealEncoding.EncodeToString(otherVersion)},
		{name: "line break", purpose: "session", sealed: good[:10] + "\n" + good[10:]},
		{name: "padded", purpose: "session", sealed: good + "=="},
		{name: "oversize", purpose: "session", sealed: strings.Repeat("A", MaxSealedLen+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Open(tt.purpose, tt.sealed)
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Open = %q, %v; want ErrInvalid", got, err)
			}
		})
	}
}

func TestCodecTamperEveryByte(t *testing.T) {
	clock := newTestClock()
	c := newTestCodec(t, clock)
	sealed, err := c.Seal("p", []byte("short"), clock.Now().Add(time.Hour))
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	raw, err := sealEncoding.DecodeString(sealed)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	for i := range raw {
		for _, flip := range []byte{0x01, 0x80, 0xff} {
			tampered := bytes.Clone(raw)
			tampered[i] ^= flip
			if _, err := c.Open("p", sealEncoding.EncodeToString(tampered)); !errors.Is(err, ErrInvalid) {
				t.Errorf("byte %d ^ %#x: Open error = %v; want ErrInvalid", i, flip, err)
			}
		}
	}
	// Every character of the text too, including the last one's unused low bits.
	for i := range sealed {
		for _, ch := range []byte{'A', 'B', 'f', '-', '_'} {
			if sealed[i] == ch {
				continue
			}
			tampered := sealed[:i] + string(ch) + sealed[i+1:]
			if _, err := c.Open("p", tampered); !errors.Is(err, ErrInvalid) {
				t.Errorf("char %d = %q: Open error = %v; want ErrInvalid", i, ch, err)
			}
		}
	}
}

func TestCodecKeyRotation(t *testing.T) {
	clock := newTestClock()
	oldKey, newKey := testKey(1), testKey(2)
	before := newTestCodec(t, clock, oldKey)
	after := newTestCodec(t, clock, newKey, oldKey)
	retired := newTestCodec(t, clock, newKey)
	exp := clock.Now().Add(time.Hour)

	sealedOld, _ := before.Seal("p", []byte("old"), exp)
	if got, err := after.Open("p", sealedOld); err != nil || string(got) != "old" {
		t.Errorf("rotated codec Open(old value) = %q, %v; want \"old\"", got, err)
	}
	sealedNew, _ := after.Seal("p", []byte("new"), exp)
	if _, err := before.Open("p", sealedNew); !errors.Is(err, ErrInvalid) {
		t.Errorf("old-key codec opened a value sealed after rotation (err %v); want the new key to seal", err)
	}
	if got, err := retired.Open("p", sealedNew); err != nil || string(got) != "new" {
		t.Errorf("new-key codec Open = %q, %v; want \"new\"", got, err)
	}
	if _, err := retired.Open("p", sealedOld); !errors.Is(err, ErrInvalid) {
		t.Errorf("retired key still opens: err %v; want ErrInvalid", err)
	}
}

func TestCodecExpiry(t *testing.T) {
	clock := newTestClock()
	c := newTestCodec(t, clock)
	start := clock.Now()
	sealed, err := c.Seal("p", []byte("v"), start.Add(time.Minute))
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	tests := []struct {
		name    string
		at      time.Duration
		wantErr error
	}{
		{name: "just sealed", at: 0},
		{name: "a second before", at: 59 * time.Second},
		{name: "at expiry", at: time.Minute, wantErr: ErrExpired},
		{name: "long after", at: 48 * time.Hour, wantErr: ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.Set(start.Add(tt.at))
			_, err := c.Open("p", sealed)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Open at +%v: err %v; want %v", tt.at, err, tt.wantErr)
			}
		})
	}
}

func FuzzOpen(f *testing.F) {
	clock := newTestClock()
	c := newTestCodec(f, clock)
	good, _ := c.Seal("p", []byte("payload"), clock.Now().Add(time.Hour))
	f.Add("p", good)
	f.Add("p", good[:len(good)-3])
	f.Add("q", good)
	f.Add("p", "")
	f.Add("p", "AQ")
	f.Fuzz(func(t *testing.T, purpose, sealed string) {
		got, err := c.Open(purpose, sealed)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrExpired) {
				t.Fatalf("Open error %v is neither ErrInvalid nor ErrExpired", err)
			}
			return
		}
		// Only what was sealed with this key may open: "payload" for "p". (Fuzz workers
		// each seal their own copy, so the text itself may differ from good.)
		if purpose != "p" || string(got) != "payload" {
			t.Fatalf("Open(%q, %q) = %q; forged value accepted", purpose, sealed, got)
		}
	})
}

func BenchmarkCodecOpen(b *testing.B) {
	clock := newTestClock()
	c := newTestCodec(b, clock, testKey(1), testKey(2))
	plain := encodeSession(nil, testSession(clock.Now()))
	sealed, err := c.Seal("_tokengate", plain, clock.Now().Add(time.Hour))
	if err != nil {
		b.Fatalf("Seal: %v", err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(sealed)))
	for b.Loop() {
		if _, err := c.Open("_tokengate", sealed); err != nil {
			b.Fatal(err)
		}
	}
}
