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

func hashPassword(pw string) (string, error) { return identity.HashPassword(pw) }
