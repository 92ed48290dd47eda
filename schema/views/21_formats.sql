-- 21_formats: a post's format from its hashtags, and the configured timezone. Re-runnable.

-- The format of a post: the format of its mapped tag with the lowest precedence (tags compared
-- case-insensitively), else 'other'. The map lives in pulse.formats (ingester/formats.py).
CREATE OR REPLACE FUNCTION pulse.post_format(tags text[]) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
-- SECURITY DEFINER: kpi views call it for pulse_analyst, who may not read pulse.formats itself.
SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(
    (SELECT f.format
       FROM pulse.formats f
      WHERE f.tag IN (SELECT lower(ltrim(t, '#')) FROM unnest(tags) AS t)
      ORDER BY f.precedence
      LIMIT 1),
    'other')
$$;

-- The timezone of every local bucket (pulse.config, written by `ingester migrate`).
-- PL/pgSQL: its query is planned once per session. As a SQL function (never inlined, being
-- SECURITY DEFINER) it was parsed and planned at every call, several times per batch in the
-- rollup triggers.
CREATE OR REPLACE FUNCTION pulse.timezone() RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN coalesce((SELECT value FROM pulse.config WHERE key = 'timezone'), 'Europe/Amsterdam');
END $$;
