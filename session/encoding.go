package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/tokengate/tokengate/internal/secret"
)

// The session encoding is binary and versioned because it is opened on every /auth and
// because every byte saved keeps more sessions inside one cookie (ingress-nginx relays only
// the first Set-Cookie of an auth response). Layout, version 1:
//
//	version byte
//	ID, Subject, TenantID, Issuer, Name, PreferredUsername, Email, SID, RefreshToken: strings
//	CreatedAt, ExpiresAt: varint Unix seconds, uvarint nanoseconds
//	flags: uvarint, bit 0 = GroupsOverage
//	group count: uvarint, then per group a tag byte and either
//	  groupGUID: 16 bytes of a canonical lower-case GUID (Entra object ids: 36 chars → 16)
//	  groupRaw:  a string
//
// A string is a uvarint length and the bytes.
const encodingVersion byte = 1

// flagGroupsOverage marks a session whose groups claim was replaced by Entra's overage pointer.
const flagGroupsOverage = 1 << 0

const (
	groupRaw  byte = 0
	groupGUID byte = 1
)

// guidLen is the text length of a GUID: 8-4-4-4-12 hex digits.
const guidLen = 36

var errMalformed = errors.New("malformed session encoding")

// encodeSession appends the encoding of s to dst.
func encodeSession(dst []byte, s *Session) []byte {
	dst = append(dst, encodingVersion)
	for _, f := range []string{s.ID, s.Subject, s.TenantID, s.Issuer, s.Name,
		s.PreferredUsername, s.Email, s.SID, s.RefreshToken.Reveal()} {
		dst = appendString(dst, f)
	}
	dst = appendTime(dst, s.CreatedAt)
	dst = appendTime(dst, s.ExpiresAt)
	var flags uint64
	if s.GroupsOverage {
		flags |= flagGroupsOverage
	}
	dst = binary.AppendUvarint(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(len(s.Groups)))
	for _, g := range s.Groups {
		if guid, ok := parseGUID(g); ok {
			dst = append(dst, groupGUID)
			dst = append(dst, guid[:]...)
			continue
		}
		dst = append(dst, groupRaw)
		dst = appendString(dst, g)
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendTime(dst []byte, t time.Time) []byte {
	dst = binary.AppendVarint(dst, t.Unix())
	return binary.AppendUvarint(dst, uint64(t.Nanosecond()))
}

// decodeSession parses an encoding made by encodeSession. Times come back in UTC. It never
// panics: every length is checked against what is left.
func decodeSession(data []byte) (*Session, error) {
	if len(data) == 0 || data[0] != encodingVersion {
		return nil, fmt.Errorf("decode session: unknown version: %w", errMalformed)
	}
	// One string conversion for the whole payload; every text field is a substring of it.
	d := decoder{raw: data, buf: string(data), off: 1}
	s := &Session{
		ID:                d.string(),
		Subject:           d.string(),
		TenantID:          d.string(),
		Issuer:            d.string(),
		Name:              d.string(),
		PreferredUsername: d.string(),
		Email:             d.string(),
		SID:               d.string(),
		RefreshToken:      secret.String(d.string()),
		CreatedAt:         d.time(),
		ExpiresAt:         d.time(),
	}
	flags := d.uvarint()
	if flags&^flagGroupsOverage != 0 {
		d.fail("unknown flags")
	}
	s.GroupsOverage = flags&flagGroupsOverage != 0
	s.Groups = d.groups()
	if d.err != nil {
		return nil, fmt.Errorf("decode session: %w", d.err)
	}
	if d.off != len(d.buf) {
		return nil, fmt.Errorf("decode session: %d trailing bytes: %w", len(d.buf)-d.off, errMalformed)
	}
	return s, nil
}

// decoder reads fields from raw (and its string copy buf); after the first error every read
// returns a zero value.
type decoder struct {
	raw []byte
	buf string
	off int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%s at offset %d: %w", what, d.off, errMalformed)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.raw[d.off:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.raw[d.off:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.off += n
	return v
}

// take returns the next n bytes as a substring of buf.
func (d *decoder) take(n uint64) string {
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.buf)-d.off) {
		d.fail("length past end")
		return ""
	}
	s := d.buf[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

func (d *decoder) string() string { return d.take(d.uvarint()) }

func (d *decoder) time() time.Time {
	sec, nsec := d.varint(), d.uvarint()
	if nsec >= uint64(time.Second) {
		d.fail("bad nanoseconds")
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// groups reads the group list. GUIDs are first collected as their 16 raw bytes, then
// formatted into one shared string: three allocations for 200 groups instead of 200.
func (d *decoder) groups() []string {
	n := d.uvarint()
	// Each group takes at least two bytes, which bounds the allocation by the input size.
	if d.err != nil || n > uint64(len(d.buf)-d.off)/2 {
		d.fail("bad group count")
		return nil
	}
	if n == 0 {
		return nil
	}
	groups := make([]string, n)
	isGUID := make([]bool, n)
	guids := 0
	for i := range groups {
		switch d.take(1) {
		case string(groupRaw):
			groups[i] = d.string()
		case string(groupGUID):
			groups[i], isGUID[i] = d.take(16), true
			guids++
		default:
			d.fail("bad group tag")
		}
		if d.err != nil {
			return nil
		}
	}
	text := make([]byte, 0, guids*guidLen)
	for i, g := range groups {
		if isGUID[i] {
			text = appendGUID(text, g)
		}
	}
	all := string(text)
	for i := range groups {
		if isGUID[i] {
			groups[i], all = all[:guidLen], all[guidLen:]
		}
	}
	return groups
}

// parseGUID reports whether g is a GUID in canonical lower-case form, the only form that
// formatGUID gives back unchanged, and returns its 16 bytes.
func parseGUID(g string) (guid [16]byte, ok bool) {
	if len(g) != guidLen {
		return guid, false
	}
	j := 0
	for i := 0; i < guidLen; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if g[i] != '-' {
				return guid, false
			}
			i++
			continue
		}
		hi, ok1 := lowerHex(g[i])
		lo, ok2 := lowerHex(g[i+1])
		if !ok1 || !ok2 {
			return guid, false
		}
		guid[j] = hi<<4 | lo
		i, j = i+2, j+1
	}
	return guid, true
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// appendGUID appends 16 raw bytes as a canonical lower-case GUID.
func appendGUID(dst []byte, raw string) []byte {
	for i := 0; i < len(raw); i++ {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexDigits[raw[i]>>4], hexDigits[raw[i]&0x0f])
	}
	return dst
}

const hexDigits = "0123456789abcdef"
