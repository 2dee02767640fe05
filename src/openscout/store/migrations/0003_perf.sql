-- Speed and memory measurements (openscout bench / compare) and the machine's memory bandwidth.
CREATE TABLE bench_results (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    model_id TEXT NOT NULL,
    engine TEXT NOT NULL,
    host TEXT NOT NULL,
    version INTEGER NOT NULL,         -- format version of result_json
    config_json TEXT NOT NULL,        -- repeats, warm-up, prompts, concurrency
    result_json TEXT NOT NULL,        -- the whole BenchResult
    output_tps REAL,                  -- medians, copied out for queries
    ttft_s REAL,
    memory_bytes INTEGER
);
CREATE INDEX bench_results_model ON bench_results(model_id, created_at);

CREATE TABLE machine_bandwidth (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    host TEXT NOT NULL,               -- hostname + CPU model + core count
    gbs REAL NOT NULL,                -- GB/s (1e9 bytes), bytes read + written per second
    method TEXT NOT NULL,
    size_bytes INTEGER NOT NULL
);
CREATE INDEX machine_bandwidth_host ON machine_bandwidth(host, created_at);
