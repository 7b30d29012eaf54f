// Package redact removes secrets from text bound for logs and answers:
// bearer tokens, signed-URL query strings, passwords, and the passwords of
// database URLs. Every log line that may carry one goes through it.
package redact

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"
)

// Mask replaces a secret.
const Mask = "REDACTED"

// secretParams are query parameters whose values are secrets (signed URLs
// of S3 and GCS, OAuth-style tokens, passwords). Compared lower-cased.
var secretParams = map[string]bool{
	"x-amz-signature": true, "x-amz-credential": true, "x-amz-security-token": true,
	"x-goog-signature": true, "x-goog-credential": true, "signature": true, "sig": true,
	"googleaccessid": true, "awsaccesskeyid": true, "token": true, "access_token": true,
	"id_token": true, "refresh_token": true, "password": true, "passwd": true, "pwd": true,
	"secret": true, "client_secret": true, "key": true, "api_key": true, "apikey": true,
}

// Query is a raw query string with the values of secret parameters
// masked; one that does not parse is masked whole.
func Query(raw string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		k, _, hasV := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			return Mask
		}
		if hasV && secretParams[strings.ToLower(name)] {
			parts[i] = k + "=" + Mask
		}
	}
	return strings.Join(parts, "&")
}

// URL is u with its password and secret query parameters masked.
func URL(u string) string {
	if u == "" {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil || p.Scheme == "" {
		return Text(u)
	}
	if _, ok := p.User.Password(); ok {
		p.User = url.UserPassword(p.User.Username(), Mask)
	}
	p.RawQuery = Query(p.RawQuery)
	s := p.String()
	return strings.Replace(s, ":"+url.PathEscape(Mask)+"@", ":"+Mask+"@", 1)
}

var (
	bearerRE   = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+`)
	userinfoRE = regexp.MustCompile(`(://[^:/@\s"]*):[^@\s"]*@`)
	kvRE       = regexp.MustCompile(`(?i)\b(password|passwd|pwd|secret|token|access_token|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|signature)=([^&\s"']+)`)
	jwtRE      = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*`)
)

// Text masks secrets found in free text (error messages, headers):
// "Bearer …" and "Basic …" credentials, bare JWTs, URL passwords, and
// key=value secrets (connection strings, signed-URL parameters).
func Text(s string) string {
	s = bearerRE.ReplaceAllString(s, "$1 "+Mask)
	s = jwtRE.ReplaceAllString(s, Mask)
	s = userinfoRE.ReplaceAllString(s, "$1:"+Mask+"@")
	s = kvRE.ReplaceAllString(s, "$1="+Mask)
	return s
}

// Caller names a request's caller for logs: the user name, else
// "sha256:" and a prefix of the token's SHA-256 (never the token), else
// "anonymous".
func Caller(username, token string) string {
	switch {
	case username != "":
		return username
	case token != "":
		h := sha256.Sum256([]byte(token))
		return "sha256:" + hex.EncodeToString(h[:6])
	}
	return "anonymous"
}
