package session

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// KeySize is the length of a codec key: AES-256.
const KeySize = 32

// MaxSealedLen bounds the text Seal produces and Open accepts: as much as 16 cookie chunks
// of 4 KiB carry. Anything longer is refused before it is decoded, so an oversize cookie
// costs no more than a length check.
const MaxSealedLen = 64 << 10

// sealVersion is the first byte of every sealed value, so the format can change later
// without old values being misread.
const sealVersion byte = 1

// expiresLen is the size of the expiry (Unix seconds, big-endian) at the front of the plaintext.
const expiresLen = 8

// sealEncoding is cookie-safe. Strict refuses non-canonical trailing bits, so one sealed
// value has exactly one spelling.
var sealEncoding = base64.RawURLEncoding.Strict()

// Codec seals values with AES-256-GCM. It is safe for concurrent use.
type Codec struct {
	aeads []cipher.AEAD // aeads[0] seals; all of them open
	now   func() time.Time
}

// NewCodec returns a Codec for keys, each KeySize bytes. The first key seals; every key
// opens, so a key can be rotated in by putting it first and out by removing it later.
// now is the clock expiries are checked against; nil means time.Now.
func NewCodec(keys [][]byte, now func() time.Time) (*Codec, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("new codec: no keys")
	}
	if now == nil {
		now = time.Now
	}
	c := &Codec{now: now}
	for i, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("new codec: key %d is %d bytes; want %d", i, len(k), KeySize)
		}
		block, err := aes.NewCipher(k) // copies the key schedule, so callers may wipe keys
		if err != nil {
			return nil, fmt.Errorf("new codec: key %d: %w", i, err)
		}
		// A random 96-bit nonce per seal: fine below 2^32 seals per key, far above the
		// number of sign-ins and refresh-token rotations between key rotations.
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, fmt.Errorf("new codec: key %d: %w", i, err)
		}
		c.aeads = append(c.aeads, aead)
	}
	return c, nil
}

// Seal encrypts and authenticates plaintext, binding it to purpose (as additional data, so
// a value sealed for one cookie never opens as another) and to expires (inside the sealed
// plaintext, so the lifetime cannot be stretched by editing cookie attributes). It returns
// unpadded base64url, safe for a cookie value.
func (c *Codec) Seal(purpose string, plaintext []byte, expires time.Time) (string, error) {
	aead := c.aeads[0]
	// Rounded down to the second: a value never outlives the expiry it was sealed with.
	msg := make([]byte, expiresLen, expiresLen+len(plaintext))
	binary.BigEndian.PutUint64(msg, uint64(expires.Unix()))
	msg = append(msg, plaintext...)

	out := make([]byte, 1, 1+len(msg)+aead.Overhead())
	out[0] = sealVersion
	out = aead.Seal(out, nil, msg, []byte(purpose))
	sealed := sealEncoding.EncodeToString(out)
	if len(sealed) > MaxSealedLen {
		return "", fmt.Errorf("seal: %d bytes sealed is over the limit of %d: %w", len(sealed), MaxSealedLen, ErrTooLarge)
	}
	return sealed, nil
}

// Open reverses Seal for the same purpose. It returns an error wrapping ErrInvalid when the
// value was tampered with, sealed with an unknown key or for another purpose, truncated or
// oversize, and one wrapping ErrExpired when it is authentic but past its expiry.
func (c *Codec) Open(purpose string, sealed string) ([]byte, error) {
	plain, _, err := c.openKey(purpose, sealed)
	return plain, err
}

// openKey is Open that also returns the index of the key that opened the value: 0 is the
// key Seal uses; more means the value should be sealed again before that key is retired.
func (c *Codec) openKey(purpose string, sealed string) ([]byte, int, error) {
	if len(sealed) > MaxSealedLen {
		return nil, 0, fmt.Errorf("open: %d bytes is over the limit: %w", len(sealed), ErrInvalid)
	}
	// The decoder skips CR and LF; refusing them keeps one spelling per value.
	if strings.IndexByte(sealed, '\n') >= 0 || strings.IndexByte(sealed, '\r') >= 0 {
		return nil, 0, fmt.Errorf("open: line break in value: %w", ErrInvalid)
	}
	raw, err := sealEncoding.DecodeString(sealed)
	if err != nil {
		return nil, 0, fmt.Errorf("open: not base64url: %w", ErrInvalid)
	}
	if len(raw) < 1+c.aeads[0].Overhead()+expiresLen || raw[0] != sealVersion {
		return nil, 0, fmt.Errorf("open: truncated or unknown format: %w", ErrInvalid)
	}
	msg, key, err := c.decrypt(purpose, raw[1:])
	if err != nil {
		return nil, 0, err
	}
	expires := time.Unix(int64(binary.BigEndian.Uint64(msg)), 0)
	if !c.now().Before(expires) {
		return nil, 0, fmt.Errorf("open: expired at %s: %w", expires.UTC().Format(time.RFC3339), ErrExpired)
	}
	return msg[expiresLen:], key, nil
}

// decrypt tries every key, newest first: values sealed before a rotation keep opening.
func (c *Codec) decrypt(purpose string, ciphertext []byte) ([]byte, int, error) {
	aad := []byte(purpose)
	for i, aead := range c.aeads {
		// Decrypting into a fresh buffer, not in place, keeps ciphertext intact for the
		// next key if this one fails.
		msg, err := aead.Open(nil, nil, ciphertext, aad)
		if err == nil {
			return msg, i, nil
		}
	}
	return nil, 0, fmt.Errorf("open: authentication failed: %w", ErrInvalid)
}
