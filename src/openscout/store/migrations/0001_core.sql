-- Every generation made through openscout (CLI, evals, server) is logged here.
CREATE TABLE generations (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    model_id TEXT NOT NULL,
    engine TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'cli',
    mode TEXT NOT NULL,               -- chat | completion
    params_json TEXT NOT NULL,
    input_json TEXT NOT NULL,         -- messages (chat) or prompt (completion)
    output TEXT NOT NULL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    finish_reason TEXT,
    ttft_s REAL,
    output_tps REAL,
    total_s REAL,
    error TEXT
);
CREATE INDEX generations_created ON generations(created_at);
CREATE INDEX generations_model ON generations(model_id);
