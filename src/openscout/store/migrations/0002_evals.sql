-- Evaluation runs (one suite x several models), every item of them, and the output cache.
CREATE TABLE eval_runs (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    finished_at TEXT,
    status TEXT NOT NULL,             -- running | done | failed
    suite TEXT NOT NULL,
    suite_version TEXT NOT NULL,
    source TEXT NOT NULL,             -- builtin, or the suite file
    seed INTEGER NOT NULL,
    item_limit INTEGER,
    models_json TEXT NOT NULL,        -- model ids, in the order asked
    fingerprint TEXT NOT NULL,        -- same fingerprint = same work: an unfinished run resumes
    config_json TEXT NOT NULL,
    pid INTEGER,
    summary_json TEXT                 -- per-model scores once done
);
CREATE INDEX eval_runs_fingerprint ON eval_runs(fingerprint);
CREATE INDEX eval_runs_created ON eval_runs(created_at);

-- One row per (run, model, item), written and committed as the item finishes.
CREATE TABLE eval_items (
    run_id TEXT NOT NULL REFERENCES eval_runs(id) ON DELETE CASCADE,
    model_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    item_index INTEGER NOT NULL,
    input_json TEXT NOT NULL,         -- the item, and the request sent
    output TEXT,
    score REAL,
    metrics_json TEXT,
    detail_json TEXT,
    error TEXT,                       -- an errored item is redone on resume
    latency_s REAL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    engine_calls INTEGER NOT NULL DEFAULT 0,
    cached_calls INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (run_id, model_id, item_id)
);

-- (model identity, parameters, request) -> output. Greedy, successful outputs only.
CREATE TABLE eval_cache (
    key TEXT PRIMARY KEY,
    model_key TEXT NOT NULL,
    kind TEXT NOT NULL,               -- generate | loglikelihood
    value_json TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- sha256 of a model file's first and last MiB plus its size, keyed by path, size and mtime.
CREATE TABLE model_fingerprints (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    digest TEXT NOT NULL
);
