package api

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/datacommons/indexd/identity"
)

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:6])
}

// hashPassword hashes a new admin password at Config.PasswordCost
// (identity.BcryptCost unless a test lowered it).
func (s *Server) hashPassword(pw string) (string, error) {
	return identity.HashPasswordCost(pw, s.cfg.PasswordCost)
}
