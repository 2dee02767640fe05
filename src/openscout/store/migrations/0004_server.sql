-- The web workbench: stored conversations, and arena battles with their votes.
CREATE TABLE chats (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    title TEXT NOT NULL,
    model_id TEXT NOT NULL,
    system_prompt TEXT NOT NULL DEFAULT '',
    params_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX chats_updated ON chats(updated_at);
CREATE TABLE chat_messages (
    id INTEGER PRIMARY KEY,
    chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content TEXT NOT NULL,
    model_id TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    ttft_s REAL,
    output_tps REAL
);
CREATE INDEX chat_messages_chat ON chat_messages(chat_id, id);
-- One arena battle: two models answer one prompt, names stay hidden until the vote.
CREATE TABLE battles (
    id TEXT PRIMARY KEY,                -- random token, not guessable
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    prompt TEXT NOT NULL,
    model_a TEXT NOT NULL,
    model_b TEXT NOT NULL,
    answer_a TEXT,
    answer_b TEXT
);
CREATE TABLE votes (
    id INTEGER PRIMARY KEY,
    battle_id TEXT NOT NULL UNIQUE REFERENCES battles(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    winner TEXT NOT NULL CHECK (winner IN ('a', 'b', 'tie', 'both_bad'))
);
CREATE INDEX votes_created ON votes(created_at);
