package redistest

// ACLRules are the ACL SETUSER rules the README recommends for tokengate's user: its key
// prefix only, and only the commands the store sends (plus CLUSTER SLOTS, which the Cluster
// client needs to find the slots). Tests sign in with them to prove they are enough.
func ACLRules(user, password string) []string {
	return []string{user, "on", ">" + password, "resetkeys", "~tokengate:*", "resetchannels",
		"-@all", "+@connection", "+get", "+set", "+del", "+exists", "+type", "+strlen",
		"+expire", "+pexpire", "+pttl", "+hget", "+hmget", "+hset", "+hstrlen", "+sadd", "+srem", "+smembers",
		"+zadd", "+zrem", "+zremrangebyscore", "+zcard", "+evalsha", "+eval", "+wait", "+cluster|slots"}
}

// SetUser creates or changes an ACL user on both data nodes (ACLs are not replicated), so
// it survives a failover.
func (s *Sentinel) SetUser(rules ...string) {
	s.t.Helper()
	for _, n := range s.Servers {
		if _, err := n.Do(append([]string{"ACL", "SETUSER"}, rules...)...); err != nil {
			s.t.Fatalf("ACL SETUSER on %s: %v", n.Addr(), err)
		}
	}
}
