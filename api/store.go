package api

import (
	"context"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/replica"
	"github.com/datacommons/indexd/repository"
	"github.com/datacommons/indexd/tokens"
)

// Store is what the HTTP layer needs from the repository. Reads take the
// discovery context as a plain value. Error contract: see package repository.
type Store interface {
	Ping(ctx context.Context) error
	ListRecords(ctx context.Context, dc discovery.Context, f indexd.ListFilter, opt repository.ListOptions) (indexd.Page, error)
	GetRecords(ctx context.Context, dc discovery.Context, dids []string, opt repository.ListOptions) ([]indexd.Record, error)
	GetRecord(ctx context.Context, dc discovery.Context, candidates []string) (*indexd.Record, error)
	ResolveRecords(ctx context.Context, dc discovery.Context, ids, twins []string, opt repository.ListOptions) ([]*indexd.Record, error)
	Versions(ctx context.Context, dc discovery.Context, candidates []string) ([]indexd.Record, error)
	Latest(ctx context.Context, dc discovery.Context, candidates []string, hasVersion bool) (*indexd.Record, error)
	ListURLs(ctx context.Context, dc discovery.Context, f indexd.URLListFilter) ([]indexd.URLEntry, error)
	QueryURLs(ctx context.Context, dc discovery.Context, q indexd.URLQuery) ([]indexd.URLMatch, error)
	QueryURLMetadata(ctx context.Context, dc discovery.Context, q indexd.URLQuery) ([]indexd.URLMatch, error)
	Stats(ctx context.Context, dc discovery.Context, opt repository.StatsOptions) (indexd.Stats, error)
	Aliases(ctx context.Context, did string) ([]string, error)

	Create(ctx context.Context, n indexd.NewRecord) (indexd.Ref, error)
	GetForWrite(ctx context.Context, candidates []string) (*indexd.Record, error)
	ChainVisible(ctx context.Context, dc discovery.Context, baseid string) (bool, error)
	NewVersion(ctx context.Context, baseid string, authorized []repository.Version, n indexd.NewRecord) (indexd.Ref, error)
	Update(ctx context.Context, did, rev string, u indexd.RecordUpdate) (indexd.Ref, error)
	Delete(ctx context.Context, did, rev string) error
	Chain(ctx context.Context, baseid string) ([]repository.Version, error)
	UpdateAllVersions(ctx context.Context, baseid string, authorized []repository.Version, acl, authz *[]string) ([]indexd.Ref, error)
	AddAliases(ctx context.Context, did, rev string, aliases []string, replace bool) ([]string, error)
	DeleteAliases(ctx context.Context, did, rev, alias string) error

	// ForRead binds a read route's request to a read replica (or the
	// primary) that has replayed at least up to after (0: within the lag
	// bound); CommitPosition is the position to hand out after a write
	// (0 without read replicas).
	ForRead(ctx context.Context, after replica.Position) context.Context
	CommitPosition(ctx context.Context) (replica.Position, error)

	Settings(ctx context.Context) (discovery.Settings, error)
	UpdateSettings(ctx context.Context, by string, change func(discovery.Settings) (discovery.Settings, error)) (discovery.Settings, error)
	SettingsAudit(ctx context.Context, limit int) ([]repository.SettingsChange, error)
	PutAdmin(ctx context.Context, by, username, passwordHash string) (created bool, err error)
	DeleteAdmin(ctx context.Context, by, username string) error
	ListAdmins(ctx context.Context) ([]repository.AdminUser, error)
	AdminAudit(ctx context.Context, limit int) ([]repository.AdminChange, error)
	// Explanations and previews (package explain).
	ExplainRecord(ctx context.Context, candidates []string, dcs []discovery.Context, grants []string) (*repository.RecordFacts, error)
	Preview(ctx context.Context, buckets []repository.Bucket, sample int) (repository.PreviewResult, error)
	AuditQuery(ctx context.Context, by, kind string, question any) error
	APITokenByID(ctx context.Context, id string) (repository.APIToken, bool, error)
	QueryAudit(ctx context.Context, limit int) ([]repository.AdminQuery, error)
	// API tokens (package tokens).
	tokens.Store
}

var _ Store = (*repository.Store)(nil)
