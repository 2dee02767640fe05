-- Chat and message ids are never given again (AUTOINCREMENT): SQLite reused a deleted chat's
-- id for the next chat, so a tab, link or client still holding it wrote into and opened
-- another conversation instead of getting "no chat" (41st probe). SQLite cannot add
-- AUTOINCREMENT to a table, so both are rebuilt. The messages' new table names the chats'
-- new one, and the old messages go first: dropping the old chats then cascades to nothing.
CREATE TABLE chats_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    title TEXT NOT NULL,
    model_id TEXT NOT NULL,
    system_prompt TEXT NOT NULL DEFAULT '',
    params_json TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO chats_new (id, created_at, updated_at, title, model_id, system_prompt, params_json)
    SELECT id, created_at, updated_at, title, model_id, system_prompt, params_json FROM chats;
CREATE TABLE chat_messages_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id INTEGER NOT NULL REFERENCES chats_new(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content TEXT NOT NULL,
    model_id TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    ttft_s REAL,
    output_tps REAL
);
INSERT INTO chat_messages_new (id, chat_id, created_at, role, content, model_id, prompt_tokens,
        completion_tokens, ttft_s, output_tps)
    SELECT id, chat_id, created_at, role, content, model_id, prompt_tokens, completion_tokens,
        ttft_s, output_tps FROM chat_messages;
DROP TABLE chat_messages;
DROP TABLE chats;
ALTER TABLE chats_new RENAME TO chats;
ALTER TABLE chat_messages_new RENAME TO chat_messages;
CREATE INDEX chats_updated ON chats(updated_at);
CREATE INDEX chat_messages_chat ON chat_messages(chat_id, id);
