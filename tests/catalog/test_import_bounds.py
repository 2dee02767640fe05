"""Bounds on `catalog import-results` and on the cache it writes: an import of more models than
any real leaderboard holds is refused cheaply with nothing written, and read_imported parses
the cache once per change of the file, never a file larger than an import can write."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from openscout.catalog import leaderboard_import, published
from openscout.catalog.leaderboard_import import MAX_MODELS, import_results
from openscout.catalog.published import imported_path, read_imported
from openscout.errors import DataFileError

SAMPLE = Path(__file__).parent / "fixtures" / "leaderboard" / "contents_sample.csv"
HEADER = "fullname,IFEval,BBH,MATH Lvl 5,GPQA,MUSR,MMLU-PRO\n"


def _board(path: Path, models: int, prefix: str = "org/m") -> Path:
    path.write_text(
        HEADER + "".join(f"{prefix}{i},1,2,3,4,5,6\n" for i in range(models)), encoding="utf-8"
    )
    return path


@pytest.fixture(autouse=True)
def no_cached_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(published, "_imported_cache", None)


def count_parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The paths read_imported parses from now on, in order."""
    calls: list[Path] = []
    real = published._parse_imported

    def counted(path: Path, data: bytes) -> tuple[published.PublishedScore, ...]:
        calls.append(path)
        return real(path, data)

    monkeypatch.setattr(published, "_parse_imported", counted)
    return calls


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    return count_parses(monkeypatch)


def test_more_models_than_the_bound_is_refused_before_any_score(
    settings, tmp_path, monkeypatch
) -> None:
    kw = {"home": settings.home, "cache_dir": settings.cache_dir}
    import_results(str(SAMPLE), **kw)
    before = imported_path(settings.home).read_bytes()

    def no_scores(*args: object, **kwargs: object) -> None:
        raise AssertionError("scores built for an import that is refused")

    monkeypatch.setattr(leaderboard_import, "scores_from_rows", no_scores)
    big = _board(tmp_path / "big.csv", MAX_MODELS + 1)
    with pytest.raises(DataFileError) as err:
        import_results(str(big), **kw)
    text = str(err.value)
    assert str(big) in text and f"more than {MAX_MODELS} distinct models" in text
    assert "4,600" in (err.value.hint or "")
    assert imported_path(settings.home).read_bytes() == before  # the old cache, intact
    assert [p.name for p in imported_path(settings.home).parent.iterdir()] == ["imported.json"]


def test_the_cli_refuses_10001_models_and_writes_nothing(tmp_path, cli_env) -> None:
    big = _board(tmp_path / "big.csv", MAX_MODELS + 1)
    p = subprocess.run(
        [sys.executable, "-m", "openscout.cli.main", "catalog", "import-results", str(big)],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode != 0 and "distinct models" in p.stderr, p.stderr
    assert not imported_path(Path(cli_env["OPENSCOUT_HOME"])).exists()


def test_too_many_rows_of_few_models_is_refused(settings, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(leaderboard_import, "MAX_ROWS", 10)
    rows = tmp_path / "rows.csv"
    rows.write_text(HEADER + "org/same,1,2,3,4,5,6\n" * 11, encoding="utf-8")
    with pytest.raises(DataFileError, match="11 rows; openscout imports 10 at most"):
        import_results(str(rows), home=settings.home, cache_dir=settings.cache_dir)
    assert not imported_path(settings.home).exists()


def test_an_import_at_the_bound_is_kept_and_earlier_imports_count(
    settings, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(leaderboard_import, "MAX_MODELS", 4)
    kw = {"home": settings.home, "cache_dir": settings.cache_dir}
    report = import_results(str(_board(tmp_path / "a.csv", 4, "org/a")), **kw)
    assert (report.models, report.scores) == (4, 24)
    again = import_results(str(_board(tmp_path / "a2.csv", 4, "org/a")), **kw)  # same models
    assert again.models == 4 and len(read_imported(settings.home)) == 24
    before = imported_path(settings.home).read_bytes()
    with pytest.raises(DataFileError, match="would hold 5 models") as err:
        import_results(str(_board(tmp_path / "b.csv", 1, "org/b")), **kw)
    assert "--replace" in (err.value.hint or "")
    assert imported_path(settings.home).read_bytes() == before
    # a full cache could never take another import (nineteenth probe): --replace starts afresh
    fresh = import_results(str(_board(tmp_path / "b.csv", 1, "org/b")), **kw, replace=True)
    assert fresh.models == 1 and {s.model for s in read_imported(settings.home)} == {"org/b0"}


def test_an_honest_export_imports(settings, tmp_path) -> None:
    lines = [SAMPLE.read_text(encoding="utf-8").splitlines()[0]]
    for i in range(300):
        m = f"org{i % 30}/model-{i}-7B"
        lines.append(
            f"{m}_bf16,bfloat16,chat,{m},{m},{i:040x},20.0,0.4,40.0,0.3,30.0,"
            "0.1,10.0,0.2,5.0,0.3,4.0,0.2,20.0,2024-09-01"
        )
    path = tmp_path / "contents.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_results(str(path), home=settings.home, cache_dir=settings.cache_dir)
    assert (report.rows, report.models, report.scores) == (300, 300, 1800)
    assert len(read_imported(settings.home)) == 1800


def test_read_imported_parses_once_per_change(settings, parses) -> None:
    kw = {"home": settings.home, "cache_dir": settings.cache_dir}
    import_results(str(SAMPLE), **kw)  # reads no cache: there is none yet
    assert parses == []
    first = read_imported(settings.home)
    first.clear()  # callers get their own list
    second = read_imported(settings.home)
    assert len(second) == 18 and len(parses) == 1
    import_results(str(SAMPLE.with_name("datasets_server_rows.json")), **kw)  # cached: no parse
    assert len(parses) == 1
    third = read_imported(settings.home)  # the file changed: parsed again
    assert len(parses) == 2 and any(s.date == "2024-11-01" for s in third)
    read_imported(settings.home)
    assert len(parses) == 2


def test_read_imported_refuses_a_file_larger_than_an_import_writes(
    settings, parses, monkeypatch
) -> None:
    import_results(str(SAMPLE), home=settings.home, cache_dir=settings.cache_dir)
    monkeypatch.setattr(published, "MAX_IMPORTED_BYTES", 1000)
    with pytest.raises(DataFileError, match="bytes") as err:
        read_imported(settings.home)
    assert "import-results" in (err.value.hint or "") and parses == []


def test_an_import_never_writes_more_than_read_imported_reads(
    settings, monkeypatch, tmp_path
) -> None:
    monkeypatch.setattr(leaderboard_import, "MAX_IMPORTED_BYTES", 1000)
    with pytest.raises(DataFileError, match="would take"):
        import_results(str(SAMPLE), home=settings.home, cache_dir=settings.cache_dir)
    assert not imported_path(settings.home).parent.exists() or not any(
        imported_path(settings.home).parent.iterdir()
    )


def test_two_imports_at_once_keep_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each import read the cache, merged and wrote it back: two at once both said
    "imported" and the last writer dropped the other's scores (twenty-fourth probe)."""
    import threading
    import time

    real = leaderboard_import.read_imported

    def slow(home: Path) -> list[published.PublishedScore]:
        found = real(home)
        time.sleep(0.5)  # both would read before either writes
        return found

    monkeypatch.setattr(leaderboard_import, "read_imported", slow)
    home = tmp_path / "home"
    boards = [_board(tmp_path / f"{org}.csv", 50, f"{org}/m") for org in ("orga", "orgb")]
    imports = [
        threading.Thread(
            target=import_results, args=(str(b),), kwargs={"home": home, "cache_dir": tmp_path}
        )
        for b in boards
    ]
    for t in imports:
        t.start()
    for t in imports:
        t.join(60)
    assert {s.model.split("/")[0] for s in read_imported(home)} == {"orga", "orgb"}
