package session

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestSessionEncodingRoundTrip(t *testing.T) {
	now := time.Date(2030, 5, 6, 7, 8, 9, 123456789, time.UTC)
	full := testSession(now)
	many := testSession(now)
	many.Groups = groupIDs(200)
	mixed := testSession(now)
	mixed.Groups = []string{
		"0f8fad5b-d9cb-469f-a165-70867728950e", // canonical: stored as 16 bytes
		"0F8FAD5B-D9CB-469F-A165-70867728950E", // upper case: must come back upper case
		"{0f8fad5b-d9cb-469f-a165-70867728950e}",
		"0f8fad5b-d9cb-469f-a165-70867728950g",
		"0f8fad5bd9cb469fa16570867728950e0000",
		"",
		"Domain Admins",
		"ünïcödé",
	}
	tests := []struct {
		name string
		sess *Session
	}{
		{name: "zero", sess: &Session{}},
		{name: "full", sess: full},
		{name: "200 groups", sess: many},
		{name: "mixed groups", sess: mixed},
		{name: "before 1970", sess: &Session{ID: "x", CreatedAt: time.Date(1901, 1, 1, 0, 0, 0, 1, time.UTC)}},
		{name: "groups overage", sess: &Session{ID: "x", GroupsOverage: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeSession(encodeSession(nil, tt.sess))
			if err != nil {
				t.Fatalf("decodeSession: %v", err)
			}
			if !reflect.DeepEqual(got, tt.sess) {
				t.Errorf("round trip = %+v; want %+v", got, tt.sess)
			}
			if got.RefreshToken.Reveal() != tt.sess.RefreshToken.Reveal() {
				t.Errorf("refresh token did not round-trip")
			}
		})
	}
}

func TestSessionEncodingCompactsGUIDs(t *testing.T) {
	s := &Session{Groups: groupIDs(200)}
	n := len(encodeSession(nil, s))
	// 1 tag + 16 bytes per group, plus a small fixed part.
	if want := 200*17 + 40; n > want {
		t.Errorf("200 GUID groups encode to %d bytes; want at most %d", n, want)
	}
}

func TestDecodeSessionRejects(t *testing.T) {
	good := encodeSession(nil, testSession(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)))
	tests := []struct {
		name string
		data []byte
	}{
		{name: "empty", data: nil},
		{name: "unknown version", data: append([]byte{2}, good[1:]...)},
		{name: "trailing byte", data: append(append([]byte{}, good...), 0)},
		{name: "string longer than data", data: []byte{encodingVersion, 0xff, 0x01, 'a'}},
		{name: "huge varint", data: []byte{encodingVersion, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{name: "bad nanoseconds", data: encodedWith(func(b []byte) []byte {
			return append(b, 0, 0x80, 0x94, 0xeb, 0xdc, 0x03, 0, 0, 0) // nsec = 1e9
		})},
		{name: "group count beyond data", data: encodedWith(func(b []byte) []byte {
			return append(b, 0, 0, 0, 0, 0xff, 0xff, 0x03)
		})},
		{name: "bad group tag", data: encodedWith(func(b []byte) []byte {
			return append(b, 0, 0, 0, 0, 1, 7, 0)
		})},
		{name: "short GUID", data: encodedWith(func(b []byte) []byte {
			return append(b, 0, 0, 0, 0, 1, groupGUID, 1, 2, 3)
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := decodeSession(tt.data); !errors.Is(err, errMalformed) {
				t.Errorf("decodeSession = %+v, %v; want errMalformed", s, err)
			}
		})
	}
	for i := range len(good) {
		if _, err := decodeSession(good[:i]); err == nil {
			t.Errorf("decodeSession(first %d of %d bytes) succeeded; want an error", i, len(good))
		}
	}
}

// encodedWith returns the encoding of a session with nine empty strings, then tail's bytes
// (times and groups).
func encodedWith(tail func([]byte) []byte) []byte {
	b := []byte{encodingVersion}
	b = append(b, make([]byte, 9)...)
	return tail(b)
}

func TestParseGUID(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{name: "canonical", in: "6dae42f8-4368-4678-94ff-3960e28e3630", ok: true},
		{name: "upper case", in: "6DAE42F8-4368-4678-94FF-3960E28E3630"},
		{name: "dash moved", in: "6dae42f84-368-4678-94ff-3960e28e3630"},
		{name: "too short", in: "6dae42f8-4368-4678-94ff-3960e28e363"},
		{name: "not hex", in: "6dae42f8-4368-4678-94ff-3960e28e363z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, ok := parseGUID(tt.in)
			if ok != tt.ok {
				t.Fatalf("parseGUID(%q) ok = %v; want %v", tt.in, ok, tt.ok)
			}
			if ok {
				if got := string(appendGUID(nil, string(raw[:]))); got != tt.in {
					t.Errorf("appendGUID(parseGUID(%q)) = %q", tt.in, got)
				}
			}
		})
	}
}

func FuzzDecodeSession(f *testing.F) {
	f.Add(encodeSession(nil, testSession(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))))
	f.Add(encodeSession(nil, &Session{Groups: []string{"a", "6dae42f8-4368-4678-94ff-3960e28e3630"}}))
	f.Add([]byte{encodingVersion})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decodeSession(data)
		if err != nil {
			return
		}
		again, err := decodeSession(encodeSession(nil, s))
		if err != nil {
			t.Fatalf("re-decoding a decoded session: %v", err)
		}
		if !reflect.DeepEqual(again, s) {
			t.Fatalf("decode(encode(s)) = %+v; want %+v", again, s)
		}
	})
}

func BenchmarkSessionDecode(b *testing.B) {
	s := testSession(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	s.Groups = groupIDs(50)
	data := encodeSession(nil, s)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := decodeSession(data); err != nil {
			b.Fatal(err)
		}
	}
}
