-- Synthetic data for docs/explain-1m-filters.txt: run on an empty database
-- migrated to version 2 (indexd migrate). About 8 minutes on 2 cores.
SET maintenance_work_mem = '256MB';
-- 200 project sets, 100,000 single-path sets, and the empty set
INSERT INTO authz_set (id, paths, n_paths)
SELECT k, ARRAY['/programs/p' || ((k-1)/10) || '/projects/q' || ((k-1)%10)], 1 FROM generate_series(1, 200) k;
INSERT INTO authz_set (id, paths, n_paths)
SELECT 200 + k, ARRAY['/programs/u/projects/' || k], 1 FROM generate_series(1, 100000) k;
INSERT INTO authz_set (id, paths, n_paths) VALUES (100201, '{}', 0);
SELECT setval('authz_set_id_seq', 100201);
INSERT INTO authz_set_prefix (set_id, path, prefix)
SELECT s.id, s.paths[1], p.prefix FROM authz_set s
CROSS JOIN LATERAL (SELECT '/' AS prefix UNION ALL SELECT '/programs' UNION ALL
  SELECT array_to_string((string_to_array(s.paths[1], '/'))[1:3], '/') UNION ALL
  SELECT array_to_string((string_to_array(s.paths[1], '/'))[1:4], '/') UNION ALL SELECT s.paths[1]) p
WHERE s.n_paths = 1
ON CONFLICT DO NOTHING;
INSERT INTO record (did, baseid, rev, form, size, file_name, version, uploader, created_date, updated_date,
  hashes, urls, urls_metadata, acl, authz, metadata, authz_set_id)
SELECT 'dg.X/' || md5(i::text), md5('b' || i), left(md5('r' || i), 8), 'object', i % 100000,
  'f' || (i % 200000) || '.bam',
  CASE WHEN i % 3 = 0 THEN NULL ELSE (i % 1000)::text END,
  'user' || (i % 5000), now(), now(),
  jsonb_build_object('md5', md5('h' || i)),
  ARRAY['s3://bucket/' || md5(i::text)],
  jsonb_build_object('s3://bucket/' || md5(i::text), jsonb_build_object('state', CASE WHEN i % 100 = 0 THEN 'validated' ELSE 'uploaded' END)),
  CASE WHEN i % 1000 = 0 THEN '{}'::text[] ELSE ARRAY['phs' || (i % 500)] END,
  CASE WHEN i % 5000 = 0 THEN '{}'::text[]
       WHEN i % 10 = 0 THEN ARRAY['/programs/u/projects/' || (i / 10)]
       ELSE ARRAY['/programs/p' || (i % 200 / 10) || '/projects/q' || (i % 10)] END,
  jsonb_build_object('k', (i % 100)::text),
  CASE WHEN i % 5000 = 0 THEN 100201 WHEN i % 10 = 0 THEN 200 + i / 10 ELSE (i % 200) + 1 END
FROM generate_series(1, 1000000) i;
INSERT INTO record_url (url, did) SELECT urls[1], did FROM record;
VACUUM ANALYZE;
