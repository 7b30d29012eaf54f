package repository

// Table and column names, in one place.
const (
	tableRecord      = "record"
	tableAlias       = "alias"
	tableAuthzSet    = "authz_set"
	tableAuthzPrefix = "authz_set_prefix"
	tableSettings    = "discovery_settings"
	tableSettingsLog = "discovery_settings_audit"
	tableAdminUser   = "admin_user"
	settingsChannel  = "indexd_discovery_settings"
	colDID           = "r.did"
	colAuthzSetID    = "r.authz_set_id"
	recordFrom       = tableRecord + " r"
	aliasesOfRecord  = "ARRAY(SELECT a.name FROM alias a WHERE a.did = r.did ORDER BY a.name) AS aliases"
	noAliases        = "'{}'::text[] AS aliases"
	// aliasesLater is a page's aliases column: '{}' when no record has an
	// alias (one probe of the alias table per query, not per row), NULL
	// when some may, and then one query reads the whole page's aliases
	// (fillAliases).
	aliasesLater = "CASE WHEN (SELECT EXISTS (SELECT 1 FROM alias)) THEN NULL ELSE '{}'::text[] END AS aliases"
)

// recordColumns are selected, in this order, by scanRecord.
var recordColumns = []string{
	"r.did", "r.baseid", "r.rev", "r.form", "r.size", "r.file_name", "r.version",
	"r.uploader", "r.description", "r.created_date", "r.updated_date",
	"r.content_created_date", "r.content_updated_date", "r.hashes", "r.urls",
	"r.urls_metadata", "r.acl", "r.authz", "r.metadata",
}
