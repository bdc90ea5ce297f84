package postgres

import "context"

// KillLeaderSession ends the leader connection's session from another
// session, as the server does when a node dies, without unlocking.
func (s *Store) KillLeaderSession(ctx context.Context) error {
	s.leaderMu.Lock()
	defer s.leaderMu.Unlock()
	var pid uint32
	if s.leader != nil {
		pid = s.leader.PgConn().PID()
	}
	_, err := s.pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, int32(pid))
	return err
}
