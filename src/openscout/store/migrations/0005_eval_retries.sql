-- Requests an item asked again after a transient failure (a cut stream, HTTP 429, 5xx...),
-- and their causes in order, so a run's results say what the server put it through.
ALTER TABLE eval_items ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE eval_items ADD COLUMN retry_causes_json TEXT;
