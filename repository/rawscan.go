package repository

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
	"unsafe"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/datacommons/indexd"
)

// Decoding a record row from pgx's raw values (the per-page cost, issue 16).
//
// Scanning a row through pgx allocates every string, every array, every
// optional value's pointer and every timestamp separately: about 25
// allocations per row. rawRow decodes the same row from the wire bytes
// (rows.RawValues) with three: one buffer holding all the row's bytes (its
// strings point into it), one block for the optional values, one for the
// array elements. It reads exactly the formats pgx asks PostgreSQL for
// with a cached statement description (text and jsonb as text, int8,
// timestamptz and text[] as binary) and nothing else: for any other
// result shape (another query mode sends everything as text) newRawRow
// answers nil and rows are scanned through pgx as before.
// BenchmarkDecodePage measures both; TestRawDecodingMatchesScan and
// FuzzRawArray hold the decoder to pgx's answers.

// rawDecoding turns the fast path on (tests compare both paths).
var rawDecoding = true

// The columns scanRecord reads, in order: their type OIDs.
var rawColumnOIDs = [...]uint32{
	pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.Int8OID, pgtype.TextOID,
	pgtype.TextOID, pgtype.TextOID, pgtype.TextOID, pgtype.TimestamptzOID, pgtype.TimestamptzOID,
	pgtype.TimestamptzOID, pgtype.TimestamptzOID, pgtype.JSONBOID, pgtype.TextArrayOID, pgtype.JSONBOID,
	pgtype.TextArrayOID, pgtype.TextArrayOID, pgtype.JSONBOID, pgtype.TextArrayOID,
}

// rawRow decodes rows of one result.
type rawRow struct {
	jsonbBinary [len(rawColumnOIDs)]bool
}

// newRawRow returns a decoder for rows described by fds, or nil when they
// are not in the shape and formats it reads.
func newRawRow(fds []pgconn.FieldDescription) *rawRow {
	if !rawDecoding || len(fds) != len(rawColumnOIDs) {
		return nil
	}
	d := &rawRow{}
	for i, fd := range fds {
		if fd.DataTypeOID != rawColumnOIDs[i] {
			return nil
		}
		switch fd.DataTypeOID {
		case pgtype.TextOID: // the same bytes in either format
		case pgtype.JSONBOID:
			d.jsonbBinary[i] = fd.Format == pgtype.BinaryFormatCode
		default:
			if fd.Format != pgtype.BinaryFormatCode {
				return nil
			}
		}
	}
	return d
}

// rowOptionals holds a row's optional values, so that the record's
// pointers to them cost one allocation.
type rowOptionals struct {
	form, fileName, version, uploader, description string
	size                                           int64
	contentCreated, contentUpdated                 time.Time
}

var errRaw = errors.New("repository: malformed row value")

// decode fills r from one row's raw values. A value it cannot read is an
// error (the caller scans the row through pgx instead, to get pgx's error
// or answer).
func (d *rawRow) decode(vals [][]byte, r *indexd.Record) error {
	if len(vals) != len(rawColumnOIDs) {
		return errRaw
	}
	n, elems := 0, 0
	for i, v := range vals {
		n += len(v)
		if rawColumnOIDs[i] == pgtype.TextArrayOID && v != nil {
			k, err := arrayLen(v)
			if err != nil {
				return err
			}
			elems += k
		}
	}
	buf := make([]byte, 0, n)
	str := func(v []byte) string {
		if len(v) == 0 {
			return ""
		}
		start := len(buf)
		buf = append(buf, v...)
		return unsafe.String(&buf[start], len(v))
	}
	strs := make([]string, 0, elems)
	opt := &rowOptionals{}
	optional := func(v []byte, dst *string) *string {
		if v == nil {
			return nil
		}
		*dst = str(v)
		return dst
	}
	var err error
	if vals[0] == nil || vals[1] == nil || vals[2] == nil {
		return errRaw
	}
	r.DID, r.BaseID, r.Rev = str(vals[0]), str(vals[1]), str(vals[2])
	r.Form = optional(vals[3], &opt.form)
	if vals[4] != nil {
		if len(vals[4]) != 8 {
			return errRaw
		}
		opt.size = int64(binary.BigEndian.Uint64(vals[4]))
		r.Size = &opt.size
	}
	r.FileName = optional(vals[5], &opt.fileName)
	r.Version = optional(vals[6], &opt.version)
	r.Uploader = optional(vals[7], &opt.uploader)
	r.Description = optional(vals[8], &opt.description)
	if r.CreatedDate, err = timestamptz(vals[9]); err != nil {
		return err
	}
	if r.UpdatedDate, err = timestamptz(vals[10]); err != nil {
		return err
	}
	if vals[11] != nil {
		if opt.contentCreated, err = timestamptz(vals[11]); err != nil {
			return err
		}
		r.ContentCreatedDate = &opt.contentCreated
	}
	if vals[12] != nil {
		if opt.contentUpdated, err = timestamptz(vals[12]); err != nil {
			return err
		}
		r.ContentUpdatedDate = &opt.contentUpdated
	}
	jsonb := func(i int) (indexd.JSONObject, error) {
		v := vals[i]
		if v == nil {
			return nil, errRaw // NOT NULL columns
		}
		if d.jsonbBinary[i] {
			if len(v) == 0 || v[0] != 1 {
				return nil, errRaw
			}
			v = v[1:]
		}
		start := len(buf)
		buf = append(buf, v...)
		return indexd.JSONObject(buf[start:len(buf):len(buf)]), nil
	}
	array := func(v []byte) ([]string, error) {
		if v == nil {
			return nil, nil
		}
		start := len(strs)
		err := arrayElems(v, func(e []byte) { strs = append(strs, str(e)) })
		return strs[start:len(strs):len(strs)], err
	}
	if r.Hashes, err = jsonb(13); err != nil {
		return err
	}
	if r.URLs, err = array(vals[14]); err != nil {
		return err
	}
	if r.URLsMetadata, err = jsonb(15); err != nil {
		return err
	}
	if r.ACL, err = array(vals[16]); err != nil {
		return err
	}
	if r.Authz, err = array(vals[17]); err != nil {
		return err
	}
	if r.Metadata, err = jsonb(18); err != nil {
		return err
	}
	if r.Aliases, err = array(vals[19]); err != nil {
		return err
	}
	if r.URLs == nil || r.ACL == nil || r.Authz == nil {
		return errRaw // NOT NULL columns
	}
	return nil
}

// pgEpoch is 2000-01-01 UTC, timestamptz's zero, in Unix microseconds.
const pgEpoch = 946_684_800_000_000

// timestamptz decodes a binary timestamptz (microseconds since pgEpoch);
// infinities are left to pgx.
func timestamptz(v []byte) (time.Time, error) {
	if len(v) != 8 {
		return time.Time{}, errRaw
	}
	us := int64(binary.BigEndian.Uint64(v))
	if us == math.MaxInt64 || us == math.MinInt64 || us > math.MaxInt64-pgEpoch {
		return time.Time{}, errRaw
	}
	return time.UnixMicro(us + pgEpoch).UTC(), nil
}

// arrayLen reads the element count of a binary one-dimensional text array
// (an empty array has no dimensions).
func arrayLen(v []byte) (int, error) {
	if len(v) < 12 {
		return 0, errRaw
	}
	ndim := int32(binary.BigEndian.Uint32(v))
	switch {
	case ndim == 0:
		return 0, nil
	case ndim != 1 || len(v) < 20:
		return 0, errRaw
	}
	n := int32(binary.BigEndian.Uint32(v[12:]))
	if n < 0 || int(n) > (len(v)-20)/4 {
		return 0, errRaw
	}
	return int(n), nil
}

// arrayElems calls f with each element of a binary one-dimensional text
// array without NULLs, checking every length against the bytes there are.
func arrayElems(v []byte, f func([]byte)) error {
	n, err := arrayLen(v)
	if err != nil {
		return err
	}
	if n == 0 {
		if len(v) != 12 {
			return errRaw
		}
		return nil
	}
	if binary.BigEndian.Uint32(v[4:]) != 0 || binary.BigEndian.Uint32(v[8:]) != pgtype.TextOID {
		return errRaw // NULL elements, or not text
	}
	p := v[20:]
	for i := 0; i < n; i++ {
		if len(p) < 4 {
			return errRaw
		}
		l := int32(binary.BigEndian.Uint32(p))
		p = p[4:]
		if l < 0 || int(l) > len(p) {
			return errRaw
		}
		f(p[:l])
		p = p[l:]
	}
	if len(p) != 0 {
		return errRaw
	}
	return nil
}
