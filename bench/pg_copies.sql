-- pg_copies.sql - the 1,000,000-call PostgreSQL index of docs/PERFORMANCE.md
-- (issue #16) in minutes: after `gen_index --index URL --calls 4000`, the
-- 4,000 calls again as copies G1..G2 of every table a call has rows in
-- (call ids shifted by G x 4000, Call-IDs suffixed "-cG", as gen_index
-- --copies does one copy a statement), with triggers off (the copied
-- calls bring their party text along) and the trigram index built after:
--   psql URL -f bench/pg_copies.sql
--   psql URL -c "SET session_replication_role = replica" -c "CALL es_copy(1, 249)"
--   psql URL -c "SELECT setval(pg_get_serial_sequence('calls', 'id'), (SELECT max(id) FROM calls))"
--   psql URL -c "CREATE INDEX calls_party_trgm ON calls USING gin (party_text gin_trgm_ops)" -c "VACUUM ANALYZE"
-- Bench only: the product writes through the index layer.
DROP INDEX IF EXISTS calls_party_trgm;
CREATE OR REPLACE PROCEDURE es_copy(g1 int, g2 int) LANGUAGE plpgsql AS $$
DECLARE t text; cols text; sel text;
BEGIN
  FOREACH t IN ARRAY ARRAY['calls','parties','streams','events','sip_msgs','call_tags'] LOOP
    SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position),
           string_agg(CASE WHEN column_name = 'call_row' OR (column_name = 'id' AND t = 'calls')
                             THEN quote_ident(column_name) || ' + g * 4000'
                           WHEN column_name = 'call_id' THEN 'call_id || ''-c'' || g'
                           WHEN column_name = 'id' THEN 'DEFAULT_ID'
                           ELSE quote_ident(column_name) END, ', ' ORDER BY ordinal_position)
      INTO cols, sel FROM information_schema.columns WHERE table_name = t;
    IF t <> 'calls' THEN
      -- a child's own id: drawn from its sequence
      cols := regexp_replace(cols, '^id, ', '');
      sel := regexp_replace(sel, '^DEFAULT_ID, ', '');
    END IF;
    EXECUTE format('INSERT INTO %I (%s) SELECT %s FROM %I, generate_series(%s, %s) g WHERE %s <= 4000',
                   t, cols, sel, t, g1, g2, CASE WHEN t = 'calls' THEN 'id' ELSE 'call_row' END);
  END LOOP;
END $$;
