"""Arena intervals on the JSON API and the pages: few votes, wide intervals (41st probe)."""

from __future__ import annotations

from fastapi.testclient import TestClient


def _interval_cell(page: str, model: str) -> str:
    row = page[page.index(f'data-model="{model}"') :]
    row = row[: row.index("</tr>")]
    cell = row[row.index('class="num interval">') + len('class="num interval">') :]
    return cell[: cell.index("</td>")]


def test_one_vote_gives_a_wide_interval_and_no_vote_none(client: TestClient) -> None:
    """Two votes showed "1720 – 1720" on the leaderboard and lower = upper in the JSON; a model
    without votes showed "1000 – 1000"."""
    board = client.get("/leaderboard").text
    assert _interval_cell(board, "mock-a") == "no votes yet"
    bid = client.post("/ui/api/arena/battles", json={"prompt": "hello"}).json()["id"]
    for side in "ab":
        assert client.post(f"/ui/api/arena/battles/{bid}/answer/{side}", json={}).status_code == 200
    winner = client.post(f"/ui/api/arena/battles/{bid}/vote", json={"winner": "a"}).json()
    ratings = client.get("/ui/api/arena/ratings").json()["ratings"]
    assert set(ratings[0]) >= {"model", "rating", "lower", "upper", "votes"}
    top, other = ratings
    assert top["model"] == winner["model_a"] and top["rating"] - other["rating"] < 400
    assert top["lower"] < other["upper"]  # one vote settles no order
    assert all(r["upper"] - r["lower"] > 400 for r in ratings)
    low, high = _interval_cell(client.get("/leaderboard").text, top["model"]).split(" – ")
    assert int(high) - int(low) > 400
    page = client.get(f"/models/{top['model']}").text
    assert f"{top['lower']:.0f} – {top['upper']:.0f}" in page
