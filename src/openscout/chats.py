"""Conversations kept in SQLite: create, append, list, delete, export as JSON or Markdown.

Used by the web chat; nothing here knows about HTTP. Each message is committed as it is
added, so a crash loses at most the message being written.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from openscout.config import Settings
from openscout.errors import ChatFullError, ChatNotFoundError, OpenscoutError
from openscout.store.db import connect, count_rows, immediate

EXPORT_VERSION = 1
MAX_TITLE = 120
# a saved chat is read back whole (page, export): it stays far below what one read may cost,
# and far above any model's context (sixth probe: a 200 MB chat crashed the server on read).
# Counted in stored UTF-8 bytes: SQLite's LENGTH() of text stops at a NUL character, so
# messages starting with "\u0000" counted as empty (seventh probe: 262 MB got through).
MAX_CHAT_BYTES = 8 * 2**20
MAX_CHAT_MESSAGES = 2000
_SIZE = "SELECT COUNT(*), COALESCE(SUM(LENGTH(CAST(content AS BLOB))), 0) FROM chat_messages"
ROLES = ("system", "user", "assistant")
MAX_SETTING_NAME = 64


@dataclass
class ChatMessage:
    id: int
    role: str
    content: str
    model_id: str | None = None
    created_at: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ttft_s: float | None = None
    output_tps: float | None = None


@dataclass
class Chat:
    id: int
    title: str
    model_id: str
    system_prompt: str
    params: dict[str, Any]
    created_at: str
    updated_at: str
    messages: list[ChatMessage] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ChatSetup:
    """What a turn was sent with, where given (None: unchanged): the chat keeps the last."""

    model_id: str | None = None
    system_prompt: str | None = None
    params: dict[str, Any] | None = None


# C0 controls but tab and line breaks: JSON writes each as \u00XX, six bytes, so a chat of
# them within its 8 MiB bound was a 48 MB answer (31st probe); they show as nothing anyway
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _title(text: str) -> str:
    line = " ".join(text.split())
    return (line[: MAX_TITLE - 1] + "…") if len(line) > MAX_TITLE else (line or "New chat")


def create_chat(
    settings: Settings,
    model_id: str,
    title: str = "",
    system_prompt: str = "",
    params: dict[str, Any] | None = None,
) -> Chat:
    conn = connect(settings.db_path)
    try:
        cur = conn.execute(
            "INSERT INTO chats (title, model_id, system_prompt, params_json) VALUES (?,?,?,?)",
            (_title(title), model_id, system_prompt, _settings_json(params or {})),
        )
        chat_id = int(cur.lastrowid or 0)
    finally:
        conn.close()
    return get_chat(settings, chat_id)


def add_message(
    settings: Settings,
    chat_id: int,
    role: str,
    content: str,
    *,
    model_id: str | None = None,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    ttft_s: float | None = None,
    output_tps: float | None = None,
    now: ChatSetup = ChatSetup(),
) -> ChatMessage:
    if role not in ROLES:
        raise OpenscoutError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    content = _CONTROL.sub("\ufffd", content)
    conn = connect(settings.db_path)
    try:
        with immediate(conn):  # the checks and the insert as one, whoever else writes
            if conn.execute("SELECT 1 FROM chats WHERE id = ?", (chat_id,)).fetchone() is None:
                raise ChatNotFoundError(f"no chat {chat_id}", hint="it may have been deleted")
            n, size = conn.execute(f"{_SIZE} WHERE chat_id = ?", (chat_id,)).fetchone()
            if n >= MAX_CHAT_MESSAGES or size + _bytes(content) > MAX_CHAT_BYTES:
                raise ChatFullError(
                    f"chat {chat_id} is full ({n} messages, {size:,} bytes of text; at most"
                    f" {MAX_CHAT_MESSAGES} and {MAX_CHAT_BYTES:,})",
                    hint="start a new chat",
                )
            cur = conn.execute(
                "INSERT INTO chat_messages (chat_id, role, content, model_id, prompt_tokens,"
                " completion_tokens, ttft_s, output_tps) VALUES (?,?,?,?,?,?,?,?)",
                (
                    chat_id,
                    role,
                    content,
                    model_id,
                    prompt_tokens,
                    completion_tokens,
                    ttft_s,
                    output_tps,
                ),
            )
            conn.execute(
                "UPDATE chats SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),"
                " model_id = COALESCE(?, model_id), system_prompt = COALESCE(?, system_prompt),"
                " params_json = COALESCE(?, params_json) WHERE id = ?",
                (
                    now.model_id,
                    now.system_prompt,
                    None if now.params is None else _settings_json(now.params),
                    chat_id,
                ),
            )
            row = conn.execute(
                "SELECT * FROM chat_messages WHERE id = ?", (cur.lastrowid,)
            ).fetchone()
    finally:
        conn.close()
    return _message(row)


def _message(row: Any) -> ChatMessage:
    return ChatMessage(
        row["id"],
        row["role"],
        row["content"],
        row["model_id"],
        row["created_at"],
        row["prompt_tokens"],
        row["completion_tokens"],
        row["ttft_s"],
        row["output_tps"],
    )


def _settings_json(params: dict[str, Any]) -> str:
    # strict JSON: NaN and the infinities are not JSON, and an export holding them does not
    # parse in strict readers (29th probe)
    try:
        return json.dumps(params, allow_nan=False)
    except ValueError as e:
        raise OpenscoutError(f"chat settings must be finite numbers: {e}") from None


def _settings_read(text: str | None) -> dict[str, Any]:
    """A chat's settings as stored; rows written before the settings were checked may hold
    NaN, infinities or long names, which are left out rather than served."""
    stored = json.loads(text or "{}")
    return {
        k: v
        for k, v in (stored.items() if isinstance(stored, dict) else ())
        if len(k) <= MAX_SETTING_NAME
        and (v is None or (isinstance(v, int | float) and math.isfinite(v) and abs(v) < 2**53))
    }


def _bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def chat_model(settings: Settings, chat_id: int) -> str:
    """The model a chat was last used with (its messages unread)."""
    conn = connect(settings.db_path)
    try:
        row = conn.execute("SELECT model_id FROM chats WHERE id = ?", (chat_id,)).fetchone()
    finally:
        conn.close()
    if row is None:
        raise ChatNotFoundError(f"no chat {chat_id}", hint="it may have been deleted")
    return str(row[0])


def get_chat(settings: Settings, chat_id: int) -> Chat:
    conn = connect(settings.db_path)
    try:
        row = conn.execute("SELECT * FROM chats WHERE id = ?", (chat_id,)).fetchone()
        if row is None:
            raise ChatNotFoundError(f"no chat {chat_id}", hint="it may have been deleted")
        n, size = conn.execute(f"{_SIZE} WHERE chat_id = ?", (chat_id,)).fetchone()
        if n > MAX_CHAT_MESSAGES or size > MAX_CHAT_BYTES:  # stored before the bounds held
            raise ChatFullError(
                f"chat {chat_id} is too large to read ({n} messages, {size:,} bytes of text;"
                f" a chat holds at most {MAX_CHAT_MESSAGES} and {MAX_CHAT_BYTES:,})",
                hint="delete it",
            )
        msgs = conn.execute(
            "SELECT * FROM chat_messages WHERE chat_id = ? ORDER BY id", (chat_id,)
        ).fetchall()
    finally:
        conn.close()
    return Chat(
        row["id"],
        row["title"],
        row["model_id"],
        row["system_prompt"],
        _settings_read(row["params_json"]),
        row["created_at"],
        row["updated_at"],
        [_message(m) for m in msgs],
    )


def list_chats(settings: Settings, limit: int = 100) -> list[dict[str, Any]]:
    """Newest first, without messages (a count instead)."""
    conn = connect(settings.db_path)
    try:
        rows = conn.execute(
            "SELECT c.id, c.title, c.model_id, c.created_at, c.updated_at,"
            " (SELECT COUNT(*) FROM chat_messages m WHERE m.chat_id = c.id) AS n_messages"
            " FROM chats c ORDER BY c.updated_at DESC, c.id DESC LIMIT ?",
            (limit,),
        ).fetchall()
    finally:
        conn.close()
    return [dict(r) for r in rows]


def count_chats(settings: Settings) -> int:
    return count_rows(settings.db_path, "chats")


def delete_chat(settings: Settings, chat_id: int) -> None:
    conn = connect(settings.db_path)
    try:
        cur = conn.execute("DELETE FROM chats WHERE id = ?", (chat_id,))
        if cur.rowcount == 0:
            raise ChatNotFoundError(f"no chat {chat_id}", hint="it may have been deleted already")
    finally:
        conn.close()


def export_json(chat: Chat) -> str:
    doc = {"version": EXPORT_VERSION, **chat.as_dict()}
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False)


def _quoted(text: str) -> list[str]:
    """`text` as a Markdown block quote, every line of it (a lone CR too, and the Unicode line
    breaks some viewers honour): a message's own `## User` line, or an unclosed code fence,
    stays inside its turn. An answer holding a `## User` line of its own exported as a turn
    the user never wrote (41st probe)."""
    return [f"> {line}" if line else ">" for line in (text.splitlines() or [""])]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def export_markdown(chat: Chat) -> str:
    """A readable transcript, each text quoted under its turn's heading. The text is kept
    otherwise as it is: Markdown viewers must not run HTML."""
    lines = [f"# {chat.title}", "", f"- model: `{_one_line(chat.model_id)}`"]
    lines.append(f"- created: {chat.created_at}")
    if chat.params:
        lines.append(
            "- parameters: " + ", ".join(f"{k}={v}" for k, v in sorted(chat.params.items()))
        )
    lines.append("")
    if chat.system_prompt:
        lines += ["## System", "", *_quoted(chat.system_prompt), ""]
    for m in chat.messages:
        who = "User" if m.role == "user" else ("Assistant" if m.role == "assistant" else "System")
        if m.role == "assistant" and m.model_id:
            who += f" ({_one_line(m.model_id)})"  # stored before ids were checked: no forged turn
        lines += [f"## {who}", "", *_quoted(m.content), ""]
        if m.role == "assistant" and m.output_tps:
            lines += [f"*{m.completion_tokens} tokens, {m.output_tps:.1f} tok/s*", ""]
    return "\n".join(lines)
