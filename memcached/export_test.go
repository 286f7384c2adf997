package memcached

// SetMaxMoved sets how many keys s remembers per ejected server.
func SetMaxMoved(s *Store, n int) {
	s.pool.mu.Lock()
	s.pool.maxMoved = n
	s.pool.mu.Unlock()
}

// Probe makes every ejected server of s be probed now, whatever the retry
// interval.
func Probe(s *Store) {
	for i := range s.pool.servers {
		select {
		case s.pool.servers[i].kick <- struct{}{}:
		default:
		}
	}
}
