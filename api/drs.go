package api

// drsRoutes are the GA4GH DRS routes (drs_*.go).
func (s *Server) drsRoutes() []Route { return nil }
