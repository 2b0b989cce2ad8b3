package session

import (
	"crypto/sha256"
	"encoding/base64"
)

// keyspace names the Redis keys. No key contains a session id or sid as such: each is a
// SHA-256 hash, so reading key names (SCAN, MONITOR, a dump) gives nothing to present as a
// cookie. A session's keys share the hash tag {hash}, so Redis Cluster puts them in one slot
// and a MULTI/EXEC over the session and its tokens stays possible there.
//
//	<prefix>{<hash(id)>}:session       sealed session, TTL = session end
//	<prefix>{<hash(id)>}:token:<hash>  sealed access token per scope, TTL = token expiry
//	<prefix>{<hash(id)>}:lock          refresh lock, TTL = LockTTL
//	<prefix>sid:<hash(sid)>            set of hash(id) per sid, for front-channel logout
//	<prefix>active                     sorted set of hash(id) by session end, for the gauge
type keyspace struct{ prefix string }

func (k keyspace) active() string { return k.prefix + "active" }

// hash is the public name of a session id: unpadded base64url of SHA-256, domain-separated.
func (k keyspace) hash(id string) string { return digest("tokengate session id\x00" + id) }

func (k keyspace) session(id string) string { return k.sessionByHash(k.hash(id)) }

func (k keyspace) sessionByHash(h string) string { return k.prefix + "{" + h + "}:session" }

func (k keyspace) token(id, scope string) string {
	return k.prefix + "{" + k.hash(id) + "}:token:" + digest("tokengate scope\x00" + scope)[:22]
}

func (k keyspace) lock(id string) string { return k.prefix + "{" + k.hash(id) + "}:lock" }

func (k keyspace) sid(sid string) string { return k.prefix + "sid:" + digest("tokengate sid\x00"+sid) }

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
