package ui

import "net/http"

// The load generator's floors (LOAD_FLOORS=true): the cheapest
// authenticated read and write, through the same middleware as every page,
// so a tick's figures can be read as ratios to them.

func (s *Server) readFloor(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.LoadFloors {
		s.notFound(w, r)
		return
	}
	if err := s.db.ReadFloor(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	s.write(w, r, []byte("ok\n"))
}

func (s *Server) writeFloor(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.LoadFloors {
		s.notFound(w, r)
		return
	}
	if err := s.db.WriteFloor(r.Context(), currentUser(r.Context()).ID); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	s.write(w, r, []byte("ok\n"))
}
