-- +goose Up
-- The data version (issue 10): a counter bumped by every statement that
-- inserts, updates, deletes or truncates records or their url rows — every
-- change that can move a record into, out of or within a list. The deep
-- page= index (package pageindex) caches page boundaries under it and
-- recomputes them once it moved. A sequence: nextval never blocks writers
-- and is not rolled back (a bump of an aborted write only costs a
-- recomputation).
CREATE SEQUENCE record_data_version;

-- +goose StatementBegin
CREATE FUNCTION bump_record_data_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('record_data_version');
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER record_data_version_bump
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON record
    FOR EACH STATEMENT EXECUTE FUNCTION bump_record_data_version();
CREATE TRIGGER record_url_data_version_bump
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON record_url
    FOR EACH STATEMENT EXECUTE FUNCTION bump_record_data_version();

-- +goose Down
DROP TRIGGER record_url_data_version_bump ON record_url;
DROP TRIGGER record_data_version_bump ON record;
DROP FUNCTION bump_record_data_version();
DROP SEQUENCE record_data_version;
