// Package indexd is the domain of the record index: records, list filters,
// and the small set of errors every layer speaks. Adapters live in
// sub-packages: repository (PostgreSQL), api (HTTP), policy (the external
// policy service), identity (credentials), discovery (visibility context).
package indexd

import (
	"errors"
	"fmt"
)

// Error kinds. The HTTP layer maps these, and only these, to status codes
// in one place; anything else is an internal error with a generic message.
var (
	ErrNotFound        = errors.New("not found")
	ErrInvalid         = errors.New("invalid")
	ErrConflict        = errors.New("conflict")
	ErrUnauthenticated = errors.New("unauthorized")
	ErrForbidden       = errors.New("forbidden")
	// ErrNotVisible: the record exists but the caller's discovery context
	// does not let them see it (403, or 404 under hide_existence).
	ErrNotVisible  = errors.New("not visible")
	ErrUnavailable = errors.New("unavailable")
	ErrTooLarge    = errors.New("too large")
	// ErrGone: a route indexd had that this service replaced (410).
	ErrGone = errors.New("gone")
)

// Error carries a kind and a message that is safe to show to the caller.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Message }

// Unwrap lets errors.Is match the kind.
func (e *Error) Unwrap() error { return e.Kind }

// Errorf returns an *Error of kind with a formatted, caller-visible message.
func Errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Invalidf is Errorf(ErrInvalid, ...), the common case of bad input.
func Invalidf(format string, args ...any) error { return Errorf(ErrInvalid, format, args...) }

// Message returns the caller-visible message of err, or "" when err carries none.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}
