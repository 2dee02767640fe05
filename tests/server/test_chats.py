"""Stored conversations: the core functions and the routes behind the chat page."""

from __future__ import annotations

import json
import sqlite3

import pytest
from fastapi.testclient import TestClient

from openscout import chats
from tests.arena.helpers import answered


def test_chat_lifecycle(settings) -> None:  # type: ignore[no-untyped-def]
    c = chats.create_chat(
        settings, "mock-a", "  First   question  ", "Be brief.", {"temperature": 0.2}
    )
    assert c.title == "First question"
    chats.add_message(settings, c.id, "user", "What is 2+2?")
    chats.add_message(
        settings, c.id, "assistant", "4", model_id="mock-a", completion_tokens=1, output_tps=12.5
    )
    got = chats.get_chat(settings, c.id)
    assert [(m.role, m.content) for m in got.messages] == [
        ("user", "What is 2+2?"),
        ("assistant", "4"),
    ]
    listed = chats.list_chats(settings)
    assert listed[0]["id"] == c.id and listed[0]["n_messages"] == 2
    second = chats.create_chat(settings, "mock-a", "second")
    assert chats.count_chats(settings) == 2 == len(chats.list_chats(settings))
    chats.delete_chat(settings, second.id)
    data = json.loads(chats.export_json(got))
    assert data["version"] == 1 and data["messages"][1]["output_tps"] == 12.5
    md = chats.export_markdown(got)
    assert "## System\n\n> Be brief." in md and "## Assistant (mock-a)\n\n> 4" in md
    chats.delete_chat(settings, c.id)
    assert chats.list_chats(settings) == []
    with pytest.raises(chats.ChatNotFoundError):
        chats.get_chat(settings, c.id)
    with pytest.raises(chats.ChatNotFoundError):
        chats.add_message(settings, c.id, "user", "lost?")


def test_chat_routes(client: TestClient) -> None:
    r = client.post(
        "/ui/api/chats", json={"model": "mock-a", "title": "hello", "system_prompt": "s"}
    )
    assert r.status_code == 200, r.text
    cid = r.json()["id"]
    assert (
        client.post(
            f"/ui/api/chats/{cid}/messages", json={"role": "user", "content": "hello"}
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"/ui/api/chats/{cid}/messages",
            json={"role": "assistant", "content": "<b>hi</b>", "model_id": "mock-a"},
        ).status_code
        == 200
    )
    r = client.get(f"/ui/api/chats/{cid}/export?format=md")
    assert r.headers["content-type"].startswith("text/markdown")
    assert "attachment" in r.headers["content-disposition"] and "<b>hi</b>" in r.text
    r = client.get(f"/ui/api/chats/{cid}/export?format=json")
    assert r.json()["messages"][1]["content"] == "<b>hi</b>"
    assert client.get("/ui/api/chats").json()["chats"][0]["n_messages"] == 2
    assert client.delete(f"/ui/api/chats/{cid}").status_code == 200
    assert client.get(f"/ui/api/chats/{cid}").status_code == 404
    assert client.delete(f"/ui/api/chats/{cid}").status_code == 404
    bad = client.post("/ui/api/chats", json={"model": "no-such-model"})
    assert bad.status_code == 404
    extra = client.post("/ui/api/chats", json={"model": "mock-a", "evil": 1})
    assert extra.status_code == 400  # our own routes are strict about fields


def _strict_json(text: str):  # type: ignore[no-untyped-def]
    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    "params",
    [
        '{"temperature": NaN}',
        '{"top_p": Infinity}',
        '{"temperature": -Infinity}',
        '{"max_tokens": 9007199254740993}',
        '{"seed": -9007199254740993}',
        '{"temperature": 2.5}',
        '{"max_tokens": "10"}',
        '{"max_tokens": true}',
        '{"' + "n" * 900_000 + '": 1}',
        '{"frequency_of_nothing": 1}',
        '{"max_tokens": 0}',
        '{"max_tokens": 4097}',
        '{"max_tokens": 2049}',
    ],
    ids=[
        "NaN",
        "Infinity",
        "-Infinity",
        "2**53+1",
        "-(2**53+1)",
        "out of range",
        "string",
        "boolean",
        "900,000-character name",
        "unknown name",
        "no tokens",  # /v1/chat/completions refuses both: every later turn failed (44th probe)
        "past the server's bound",
        # /v1 holds it to the model's context too: refused every turn (47th probe)
        "past the model's context",
    ],
)
def test_chat_settings_are_refused_where_a_v1_request_would_be(client: TestClient, params) -> None:  # type: ignore[no-untyped-def]
    """NaN, infinities and integers past 2**53 were stored and exported as invalid JSON, and
    setting names had no bound (29th probe, medium): a chat keeps what /v1 would accept."""
    body = '{"model": "mock-a", "params": ' + params + "}"
    r = client.post("/ui/api/chats", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text[:300]
    assert r.json()["error"]["param"].startswith("params"), r.text[:300]
    assert client.get("/ui/api/chats").json()["chats"] == []


def test_chat_settings_round_trip_as_strict_json(client: TestClient) -> None:
    params = {"temperature": 0.7, "top_p": 0.9, "max_tokens": 2048, "seed": -(2**53 - 1)}
    cid = client.post("/ui/api/chats", json={"model": "mock-a", "params": params}).json()["id"]
    assert client.get(f"/ui/api/chats/{cid}").json()["params"] == params
    export = client.get(f"/ui/api/chats/{cid}/export?format=json")
    assert _strict_json(export.text)["params"] == params
    empty = client.post("/ui/api/chats", json={"model": "mock-a", "params": {"top_p": None}})
    assert empty.json()["params"] == {}  # the page sends null for a field left blank


def test_a_turn_naming_no_model_is_held_to_the_chats(client: TestClient) -> None:
    """A message without `model` stored max_tokens up to the server's 4,096 for a chat whose
    2,048-token model /v1 then refused every turn (48th probe, low)."""
    cid = client.post("/ui/api/chats", json={"model": "mock-a"}).json()["id"]
    turn = {"role": "user", "content": "hi", "params": {"max_tokens": 4000}}
    r = client.post(f"/ui/api/chats/{cid}/messages", json=turn)
    assert r.status_code == 400 and r.json()["error"]["param"] == "params.max_tokens"
    turn["params"] = {"max_tokens": 2048}
    assert client.post(f"/ui/api/chats/{cid}/messages", json=turn).status_code == 200


def test_a_chat_keeps_the_settings_its_last_turn_was_sent_with(client: TestClient) -> None:
    """The chat kept its first turn's model, system prompt and sampling for ever: reopened
    after the user changed them it showed, and the export said, the first ones (41st probe,
    low). Each user turn now carries them; a turn without them changes nothing."""
    first = {"temperature": 0.2, "max_tokens": 64}
    cid = client.post(
        "/ui/api/chats", json={"model": "mock-a", "system_prompt": "Be brief.", "params": first}
    ).json()["id"]
    url = f"/ui/api/chats/{cid}/messages"
    assert client.post(url, json={"role": "user", "content": "hi"}).status_code == 200
    assert client.post(url, json={"role": "assistant", "content": "yo"}).status_code == 200
    kept = client.get(f"/ui/api/chats/{cid}").json()
    assert (kept["model_id"], kept["system_prompt"], kept["params"]) == (
        "mock-a",
        "Be brief.",
        first,
    )
    later = {"temperature": 0.9, "top_p": 0.5}
    turn = {"role": "user", "content": "more", "model": "mock-b", "system_prompt": "Be long."}
    assert client.post(url, json={**turn, "params": later}).status_code == 200
    now = client.get(f"/ui/api/chats/{cid}").json()
    assert (now["model_id"], now["system_prompt"], now["params"]) == ("mock-b", "Be long.", later)
    export = _strict_json(client.get(f"/ui/api/chats/{cid}/export?format=json").text)
    assert export["system_prompt"] == "Be long." and export["params"] == later
    # refused as a new chat's would be, and nothing stored
    bad = [{"model": "no-such-model"}, {"params": {"temperature": "0.5"}}]
    bad += [{"params": {"max_tokens": 0}}, {"params": {"max_tokens": 10**6}}]
    for extra in bad:
        r = client.post(url, json={"role": "user", "content": "x", **extra})
        assert r.status_code in (400, 404), r.text
    assert len(client.get(f"/ui/api/chats/{cid}").json()["messages"]) == 3


def test_chat_settings_stored_before_the_checks_are_left_out_not_exported(
    client: TestClient, settings
) -> None:  # type: ignore[no-untyped-def]
    cid = client.post("/ui/api/chats", json={"model": "mock-a"}).json()["id"]
    old = '{"temperature": NaN, "top_p": Infinity, "max_tokens": 9007199254740993, "seed": 3, "%s": 1}'
    conn = sqlite3.connect(settings.db_path)
    with conn:  # as the unchecked route stored them
        conn.execute("UPDATE chats SET params_json = ? WHERE id = ?", (old % ("n" * 1000), cid))
    conn.close()
    assert client.get(f"/ui/api/chats/{cid}").json()["params"] == {"seed": 3}
    export = client.get(f"/ui/api/chats/{cid}/export?format=json")
    assert export.status_code == 200 and _strict_json(export.text)["params"] == {"seed": 3}
    with pytest.raises(chats.OpenscoutError, match="finite"):
        chats.create_chat(settings, "mock-a", params={"temperature": float("nan")})


def test_arena_routes_hide_names_until_the_vote(client: TestClient) -> None:
    from tests.server.conftest import sse_events

    r = client.post("/ui/api/arena/battles", json={"prompt": "hello"})
    assert r.status_code == 200
    bid = r.json()["id"]
    streamed = ""
    for side in ("a", "b"):
        s = client.post(f"/ui/api/arena/battles/{bid}/answer/{side}", json={})
        assert s.status_code == 200
        streamed += s.text
        events = sse_events(s.text)
        assert events[-1] == "[DONE]" and any(e.get("done") for e in events[:-1])
        # nor its speed: a model's tokens/s told which one answered (42nd probe, low), nor
        # its token count in its own tokenizer (54th)
        assert not any("tps" in e or "tokens" in e for e in events[:-1] if isinstance(e, dict))
        # sent by whole words, not one event a token: their count was the token count (55th)
        texts = [e["text"] for e in events[:-1] if isinstance(e, dict) and "text" in e]
        assert texts and all(t[-1].isspace() for t in texts[:-1]), texts
    info = client.get(f"/ui/api/arena/battles/{bid}").json()
    assert "model_a" not in info
    v = client.post(f"/ui/api/arena/battles/{bid}/vote", json={"winner": "a"}).json()
    names = {v["model_a"], v["model_b"]}
    assert len(names) == 2
    for name in names:  # the names never travelled with the answers
        assert name not in streamed
    again = client.post(f"/ui/api/arena/battles/{bid}/vote", json={"winner": "b"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "battle_over"
    missing = client.get("/ui/api/arena/battles/no-such-battle")
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "battle_id"
    ratings = client.get("/ui/api/arena/ratings").json()
    assert ratings["votes"] == 1
    winner = v["model_a"]
    assert ratings["ratings"][0]["model"] == winner and ratings["ratings"][0]["wins"] == 1
    page = client.get(f"/models/{winner}").text
    assert 'id="model-arena"' in page and "1 / 0 / 0" in page  # the model page shows it too


def test_a_chat_stops_growing_at_its_bound(client: TestClient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """1000 messages of 200,000 characters made a 200 MB chat whose next read crashed the
    server (sixth probe). A chat is bounded: past it, a clear 400 and the chat still reads."""
    monkeypatch.setattr(chats, "MAX_CHAT_BYTES", 1000)
    cid = client.post("/ui/api/chats", json={"model": "mock-a"}).json()["id"]
    path = f"/ui/api/chats/{cid}/messages"
    assert client.post(path, json={"role": "user", "content": "a" * 600}).status_code == 200
    full = client.post(path, json={"role": "user", "content": "a" * 600})
    assert full.status_code == 400 and "is full" in full.json()["error"]["message"], full.text
    assert len(client.get(f"/ui/api/chats/{cid}").json()["messages"]) == 1


@pytest.mark.parametrize("lead", [r"\u0000", r"\u00e9"], ids=["NUL first", "two-byte letters"])
def test_a_chats_bound_counts_every_stored_byte(client: TestClient, monkeypatch, lead) -> None:  # type: ignore[no-untyped-def]
    """SQLite's LENGTH() of text stops at a NUL: messages starting with one counted as empty,
    and 262 MB of them made a chat whose read killed the server (seventh probe)."""
    monkeypatch.setattr(chats, "MAX_CHAT_BYTES", 1000)
    cid = client.post("/ui/api/chats", json={"model": "mock-a"}).json()["id"]
    path = f"/ui/api/chats/{cid}/messages"
    body = '{"role": "user", "content": "' + lead + "a" * 300 + '"}'
    codes = [
        client.post(path, content=body, headers={"content-type": "application/json"}).status_code
        for _ in range(5)
    ]
    assert codes == [200, 200, 200, 400, 400], codes
    assert len(client.get(f"/ui/api/chats/{cid}").json()["messages"]) == 3


def test_a_chat_stored_past_the_bound_is_refused_on_read_not_served(
    client: TestClient, settings
) -> None:  # type: ignore[no-untyped-def]
    cid = client.post("/ui/api/chats", json={"model": "mock-a"}).json()["id"]
    conn = sqlite3.connect(settings.db_path)
    with conn:  # as the NUL bypass stored them before the fix
        conn.executemany(
            "INSERT INTO chat_messages (chat_id, role, content) VALUES (?, 'user', ?)",
            [(cid, "\x00" + "a" * 2**20)] * 9,
        )
    conn.close()
    r = client.get(f"/ui/api/chats/{cid}")
    assert r.status_code == 400 and "too large to read" in r.json()["error"]["message"], r.text
    assert client.delete(f"/ui/api/chats/{cid}").status_code == 200


def test_arena_ratings_are_refitted_only_when_the_votes_change(
    client: TestClient, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The bootstrap fit takes ~0.5 s at 2000 votes and every leaderboard or model page asked
    for it (sixth probe, low): it now runs once per set of votes, off the event loop."""
    from openscout.arena import battles as arena
    from openscout.server import ui_api

    fits: list[int] = []
    real = ui_api.compute_ratings

    def counted(votes, models):  # type: ignore[no-untyped-def]
        fits.append(len(votes))
        return real(votes, models)

    monkeypatch.setattr(ui_api, "compute_ratings", counted)
    monkeypatch.setattr(ui_api, "_last_ratings", {})  # no fit left from another test
    settings = client.app.state.pool.settings

    def one_vote() -> None:
        battle = arena.new_battle(settings, "hello", ["mock-a", "mock-b"])
        arena.vote(settings, answered(settings, battle.id), "a")

    one_vote()
    for _ in range(2):
        assert client.get("/ui/api/arena/ratings").json()["votes"] == 1
        assert client.get("/leaderboard").status_code == 200
    assert fits == [1]
    one_vote()
    assert client.get("/ui/api/arena/ratings").json()["votes"] == 2
    assert client.get("/models/mock-a").status_code == 200
    assert fits == [1, 2]


def test_concurrent_ratings_requests_share_one_fit(client: TestClient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """30 requests right after a vote refitted 30 times: 25 s of CPU (eighth probe, low)."""
    import threading
    import time

    from openscout.arena import battles as arena
    from openscout.server import ui_api

    fits: list[int] = []
    real = ui_api.compute_ratings

    def slow(votes, models):  # type: ignore[no-untyped-def]
        fits.append(len(votes))
        time.sleep(0.3)  # long enough for every thread to be waiting
        return real(votes, models)

    monkeypatch.setattr(ui_api, "compute_ratings", slow)
    monkeypatch.setattr(ui_api, "_last_ratings", {})
    pool = client.app.state.pool
    battle = arena.new_battle(pool.settings, "hello", ["mock-a", "mock-b"])
    arena.vote(pool.settings, answered(pool.settings, battle.id), "a")
    threads = [threading.Thread(target=ui_api.current_ratings, args=(pool,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fits == [1]


def test_an_arena_side_that_fails_says_nothing_of_its_model(make_client) -> None:  # type: ignore[no-untyped-def]
    """An answer that failed before streaming named its upstream's URL (and so the model on
    that side) before the vote (sixteenth probe)."""
    from openscout.engines.mock import MockEngine
    from openscout.errors import EngineUnavailableError

    class Unreachable(MockEngine):
        def stream_chat(self, messages, params):  # type: ignore[no-untyped-def]
            raise EngineUnavailableError("http://secret-host.example:1/v1: cannot connect")

    engines = {
        "mock-a": MockEngine("mock-a", script={"hello": "hi"}),
        "hidden": Unreachable("hidden", script={}),
    }
    client = make_client(engines=engines, arena_models=["mock-a", "hidden"])
    made = client.post("/ui/api/arena/battles", json={"prompt": "hello"})
    assert made.status_code == 200, made.text
    bid = made.json()["id"]
    answers = [client.post(f"/ui/api/arena/battles/{bid}/answer/{s}", json={}) for s in "ab"]
    failed = next(r for r in answers if r.status_code != 200)
    assert failed.status_code == 502, failed.text
    assert failed.json()["error"]["message"] == "the model failed to answer"
    assert "secret-host" not in failed.text and "hidden" not in failed.text


def test_an_arena_side_whose_model_was_removed_does_not_name_it(make_client, settings) -> None:  # type: ignore[no-untyped-def]
    """`models remove` between a battle and its answer: the 404 named the side's model
    before the vote (twenty-fifth probe)."""
    from openscout.models import remove_model
    from tests.evals.helpers import add_mock

    for name in ("reg-a", "reg-b"):
        add_mock(settings, name)
    client = make_client(engines={}, arena_models=["reg-a", "reg-b"])
    bid = client.post("/ui/api/arena/battles", json={"prompt": "hello"}).json()["id"]
    for name in ("reg-a", "reg-b"):
        remove_model(settings, name)
    for side in ("a", "b"):
        r = client.post(f"/ui/api/arena/battles/{bid}/answer/{side}", json={})
        assert r.status_code == 404 and "reg-" not in r.text, r.text


def test_control_characters_are_stored_as_replacement_characters(client: TestClient) -> None:
    """JSON writes a C0 control as \\u00XX, six bytes: a chat of them within its 8 MiB bound
    was a 42 MB answer, 36 MB of server memory per client that did not read (31st probe,
    medium). They show as nothing; they are kept as U+FFFD, three bytes either way."""
    cid = client.post("/ui/api/chats", json={"model": "mock-a"}).json()["id"]
    text = "a\tb\nc\r" + "\u0001\u0000\u001f\u007f" * 1000
    r = client.post(f"/ui/api/chats/{cid}/messages", json={"role": "user", "content": text})
    assert r.status_code == 200, r.text
    answer = client.get(f"/ui/api/chats/{cid}")
    stored = answer.json()["messages"][0]["content"]
    assert stored == "a\tb\nc\r" + "\ufffd" * 4000  # tab and line breaks kept
    assert len(answer.content) < 3 * 4000 + 1000 and "\\u00" not in answer.text
    export = client.get(f"/ui/api/chats/{cid}/export?format=json")
    assert (
        "\\u00" not in export.text and json.loads(export.text)["messages"][0]["content"] == stored
    )


def test_a_database_locked_elsewhere_holds_its_requests_not_the_server(settings) -> None:  # type: ignore[no-untyped-def]
    """Chat and arena routes wrote SQLite on the event loop: while another process held the
    write lock, one request froze every other, /health too, for up to busy_timeout (30 s;
    33rd probe, low). Each route that touches the database waits in a thread now."""
    import threading
    import time

    import httpx

    from openscout.server.app import create_app
    from tests.server.conftest import mock_engines
    from tests.server.live import live_server

    chat = chats.create_chat(settings, "mock-a", "t", "", {})
    writes = [
        (f"/ui/api/chats/{chat.id}/messages", {"role": "user", "content": "hi"}),
        ("/ui/api/chats", {"model": "mock-a"}),
    ]
    statuses: list[int] = []
    with live_server(create_app(settings, engines=mock_engines())) as url:
        locker = sqlite3.connect(settings.db_path, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")  # another process writing until we say
        threads = [
            threading.Thread(
                target=lambda p=path, b=body: statuses.append(
                    httpx.post(url + p, json=b, timeout=60).status_code
                )
            )
            for path, body in writes
        ]
        for t in threads:
            t.start()
        time.sleep(1.0)  # the writes reach the server and wait for the lock
        try:
            # the lock is held until these answer: on the event loop, they never would
            health = httpx.get(url + "/health", timeout=15)
            listed = httpx.get(url + "/v1/models", timeout=15)
        finally:
            locker.execute("COMMIT")
            locker.close()
        for t in threads:
            t.join(30)
    assert health.status_code == 200 and listed.status_code == 200
    assert statuses == [200, 200], statuses


def test_a_long_first_message_can_start_a_chat(client: TestClient) -> None:
    """The page sends the first message as the chat's title; one over 2,000 characters was
    refused ("title: String should have at most 2000 characters"), so it could not be sent
    (34th probe, low). The title is cut where it is stored."""
    first = "word " * 1000
    r = client.post("/ui/api/chats", json={"model": "mock-a", "title": first})
    assert r.status_code == 200, r.text
    assert len(r.json()["title"]) == chats.MAX_TITLE and r.json()["title"].endswith("…")
    cid = r.json()["id"]
    added = client.post(f"/ui/api/chats/{cid}/messages", json={"role": "user", "content": first})
    assert added.status_code == 200


def test_a_model_failing_a_battle_has_it_counted_beside_its_rating(make_client) -> None:  # type: ignore[no-untyped-def]
    """A vote needs both answers: a model failing the prompts it would lose on could never
    lose them, and nothing showed it (37th probe, low). Its failures are counted."""
    from openscout.engines.mock import MockEngine

    engines = {
        "mock-a": MockEngine("mock-a", script={"hello": "hi there from a"}),
        "mock-b": MockEngine("mock-b", fail_with="upstream at http://secret.example failed"),
    }
    client = make_client(engines=engines)
    bid = client.post("/ui/api/arena/battles", json={"prompt": "hello"}).json()["id"]
    answers = {
        side: client.post(f"/ui/api/arena/battles/{bid}/answer/{side}", json={}) for side in "ab"
    }
    failed = [s for s, r in answers.items() if r.status_code != 200 or "failed to answer" in r.text]
    assert len(failed) == 1 and "secret.example" not in answers[failed[0]].text
    ratings = {r["model"]: r for r in client.get("/ui/api/arena/ratings").json()["ratings"]}
    assert ratings["mock-b"]["failed"] == 1 and ratings["mock-a"]["failed"] == 0
    board = client.get("/leaderboard").text
    row = board[board.index('data-model="mock-b"') :]
    assert '<td class="num failed">1</td>' in row[: row.index("</tr>")]
