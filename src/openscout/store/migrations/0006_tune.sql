-- Fine-tuning runs (openscout tune) and their training metrics, step by step: the training
-- logs the openness assessment counts, kept for the user's own fine-tunes.
CREATE TABLE tune_runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,               -- the model id the fine-tune is registered under
    base TEXT NOT NULL,               -- the registered base model
    data_path TEXT NOT NULL,
    data_sha256 TEXT NOT NULL,
    fingerprint TEXT NOT NULL,        -- base file + data + settings: a checkpoint resumes only its own
    config_json TEXT NOT NULL,
    status TEXT NOT NULL,             -- running | done | failed
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    finished_at TEXT,
    summary_json TEXT
);
CREATE INDEX tune_runs_name ON tune_runs(name);

-- One row per optimizer step; a resumed run rewrites the steps after its checkpoint.
CREATE TABLE tune_steps (
    run_id TEXT NOT NULL REFERENCES tune_runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    train_loss REAL NOT NULL,
    heldout_loss REAL,                -- NULL on steps without a held-out evaluation
    lr REAL NOT NULL,
    tokens INTEGER NOT NULL,          -- completion tokens the loss was taken over
    seconds REAL NOT NULL,
    PRIMARY KEY (run_id, step)
);
