SET max_parallel_workers_per_gather=0;
\echo '### list page 1 (discoverable)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT r.* FROM record r WHERE TRUE ORDER BY r.did LIMIT 101;
\echo '### deep page via cursor (did > key near the end)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT r.* FROM record r WHERE TRUE AND r.did > 'dg.X/ffbc55d586dd3e6873b45c972de54f8d' ORDER BY r.did LIMIT 101;
\echo '### list by authz path (authz= filter, resolved to authz sets then walked set by set)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM authz_set WHERE paths @> '{/programs/p7/projects/q3}';
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT r.* FROM record r WHERE r.did = ANY(ARRAY(SELECT x.did FROM unnest(ARRAY(SELECT id FROM authz_set WHERE paths @> '{/programs/p7/projects/q3}')) AS vs(id) CROSS JOIN LATERAL (SELECT i.did FROM record i WHERE i.authz_set_id = vs.id AND i.did > '' ORDER BY i.did LIMIT 101) x ORDER BY x.did LIMIT 101)) ORDER BY r.did LIMIT 101;
\echo '### by hash'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT r.* FROM record r WHERE TRUE AND r.hashes @> '{"md5":"334cd2f070d9dc055ccb4933cea82039"}'::jsonb ORDER BY r.did LIMIT 101;
\echo '### by url'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT r.* FROM record r WHERE TRUE AND r.did IN (SELECT ru.did FROM record_url ru WHERE ru.url = 's3://bucket/90001475efd1d3e1fe2e6816cfb5dea8') ORDER BY r.did LIMIT 101;
\echo '### visibility: resolve the caller grants to visible authz sets (10 %: 5 programs)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT p.set_id FROM authz_set_prefix p JOIN authz_set s ON s.id = p.set_id WHERE p.prefix = ANY('{/programs/p1,/programs/p2,/programs/p3,/programs/p4,/programs/p5}'::text[]) GROUP BY p.set_id, s.n_paths HAVING count(DISTINCT p.path) = s.n_paths;
\echo '### visibility-filtered list page 1 at 10 %: set walk (pageBySets)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT r.* FROM record r WHERE r.did = ANY(ARRAY(SELECT x.did FROM unnest('{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,201,202,203,204}'::bigint[]) AS vs(id) CROSS JOIN LATERAL (SELECT i.did FROM record i WHERE i.authz_set_id = vs.id AND i.did > '' ORDER BY i.did LIMIT 101) x ORDER BY x.did LIMIT 101)) ORDER BY r.did LIMIT 101;
\echo '### same at 10 %, the plain predicate (authz_set_id = ANY) for comparison'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT r.* FROM record r WHERE r.authz_set_id = ANY('{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,201,202,203,204}'::bigint[]) ORDER BY r.did LIMIT 101;
\echo '### visibility at 10 % combined with a hash filter'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT r.* FROM record r WHERE r.authz_set_id = ANY('{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,201,202,203,204}'::bigint[]) AND r.hashes @> '{"md5":"334cd2f070d9dc055ccb4933cea82039"}'::jsonb ORDER BY r.did LIMIT 101;
\echo '### visibility-filtered list page 1 at 1 %: set walk (pageBySets)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT r.* FROM record r WHERE r.did = ANY(ARRAY(SELECT x.did FROM unnest('{1,2}'::bigint[]) AS vs(id) CROSS JOIN LATERAL (SELECT i.did FROM record i WHERE i.authz_set_id = vs.id AND i.did > '' ORDER BY i.did LIMIT 101) x ORDER BY x.did LIMIT 101)) ORDER BY r.did LIMIT 101;
\echo '### same at 1 %, the plain predicate (authz_set_id = ANY) for comparison'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT r.* FROM record r WHERE r.authz_set_id = ANY('{1,2}'::bigint[]) ORDER BY r.did LIMIT 101;
\echo '### visibility at 1 % combined with a hash filter'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT r.* FROM record r WHERE r.authz_set_id = ANY('{1,2}'::bigint[]) AND r.hashes @> '{"md5":"334cd2f070d9dc055ccb4933cea82039"}'::jsonb ORDER BY r.did LIMIT 101;
\echo '### visibility-filtered list page 1 at 0.01 %: set walk (pageBySets)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT r.* FROM record r WHERE r.did = ANY(ARRAY(SELECT x.did FROM unnest('{206,207,208,209,210,211,212,213,214,215,216,217,218,219,220,221,222,223,224,225,226,227,228,229,230,231,232,233,234,235,236,237,238,239,240,241,242,243,244,245,246,247,248,249,250,251,252,253,254,255,256,257,258,259,260,261,262,263,264,265,266,267,268,269,270,271,272,273,274,275,276,277,278,279,280,281,282,283,284,285,286,287,288,289,290,291,292,293,294,295,296,297,298,299,300,301,302,303,304,305}'::bigint[]) AS vs(id) CROSS JOIN LATERAL (SELECT i.did FROM record i WHERE i.authz_set_id = vs.id AND i.did > '' ORDER BY i.did LIMIT 101) x ORDER BY x.did LIMIT 101)) ORDER BY r.did LIMIT 101;
\echo '### same at 0.01 %, the plain predicate (authz_set_id = ANY) for comparison'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT r.* FROM record r WHERE r.authz_set_id = ANY('{206,207,208,209,210,211,212,213,214,215,216,217,218,219,220,221,222,223,224,225,226,227,228,229,230,231,232,233,234,235,236,237,238,239,240,241,242,243,244,245,246,247,248,249,250,251,252,253,254,255,256,257,258,259,260,261,262,263,264,265,266,267,268,269,270,271,272,273,274,275,276,277,278,279,280,281,282,283,284,285,286,287,288,289,290,291,292,293,294,295,296,297,298,299,300,301,302,303,304,305}'::bigint[]) ORDER BY r.did LIMIT 101;
\echo '### visibility at 0.01 % combined with a hash filter'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT r.* FROM record r WHERE r.authz_set_id = ANY('{206,207,208,209,210,211,212,213,214,215,216,217,218,219,220,221,222,223,224,225,226,227,228,229,230,231,232,233,234,235,236,237,238,239,240,241,242,243,244,245,246,247,248,249,250,251,252,253,254,255,256,257,258,259,260,261,262,263,264,265,266,267,268,269,270,271,272,273,274,275,276,277,278,279,280,281,282,283,284,285,286,287,288,289,290,291,292,293,294,295,296,297,298,299,300,301,302,303,304,305}'::bigint[]) AND r.hashes @> '{"md5":"334cd2f070d9dc055ccb4933cea82039"}'::jsonb ORDER BY r.did LIMIT 101;
