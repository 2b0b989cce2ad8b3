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
//	<prefix>{<hash(id)>}:session  sealed session, TTL = session end
//	<prefix>{<hash(id)>}:tokens   hash: field hash(scope) = sealed access token (each sealed
//	                              with its own expiry), TTL = session end
//	<prefix>{<hash(id)>}:refresh  hash: g = generation, o = owner of the refresh in flight,
//	                              t = when it began (Unix ms); TTL = session end
//	<prefix>{<hash(id)>}:lock     refresh lock, TTL = LockTTL, renewed while its refresh runs
//	<prefix>sid:<hash(sid)>            set of hash(id) per sid, for front-channel logout
//	<prefix>active                     sorted set of hash(id) by session end, for the gauge
type keyspace struct{ prefix string }

func (k keyspace) active() string { return k.prefix + "active" }

// hash is the public name of a session id: unpadded base64url of SHA-256, domain-separated.
func (k keyspace) hash(id string) string { return digest("tokengate session id\x00" + id) }

func (k keyspace) session(id string) string { return k.sessionByHash(k.hash(id)) }

func (k keyspace) sessionByHash(h string) string { return k.prefix + "{" + h + "}:session" }

func (k keyspace) tokens(id string) string { return k.prefix + "{" + k.hash(id) + "}:tokens" }

// tokenField names scope's token inside the tokens hash.
func tokenField(scope string) string { return digest("tokengate scope\x00" + scope)[:22] }

func (k keyspace) refresh(id string) string { return k.prefix + "{" + k.hash(id) + "}:refresh" }

func (k keyspace) lock(id string) string { return k.prefix + "{" + k.hash(id) + "}:lock" }

// all is every key of one session, in the order the flight scripts take them. They share
// one hash tag, so one script or one DEL may name them all, in a Cluster too.
func (k keyspace) all(id string) []string { return k.allByHash(k.hash(id)) }

func (k keyspace) allByHash(h string) []string {
	tag := k.prefix + "{" + h + "}:"
	return []string{tag + "session", tag + "refresh", tag + "lock", tag + "tokens"}
}

func (k keyspace) sid(sid string) string { return k.prefix + "sid:" + digest("tokengate sid\x00"+sid) }

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
