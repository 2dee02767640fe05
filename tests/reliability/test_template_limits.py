"""Chat templates run in a limited worker: a template that loops for ever or asks for
gigabytes is stopped (time, CPU, memory), costs openscout's own process nothing, and the next
render works. llama-cpp-python never compiles a model file's template."""

from __future__ import annotations

import resource
import time

import pytest

from openscout.engines import chat_template
from openscout.engines.chat_template import render_chat, template_free
from openscout.errors import ModelFileError

MSGS = [{"role": "user", "content": "hi"}]
GOOD = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}{% endfor %}"


@pytest.fixture(autouse=True)
def quick_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        chat_template,
        "TEMPLATE_LIMITS",
        chat_template.Limits(memory_bytes=512 * 2**20, cpu_seconds=1, timeout=3),
    )


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize(
    "template",
    [
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}",
    ],
)
def test_endless_template_is_stopped_and_the_next_render_works(template: str) -> None:
    start = time.monotonic()
    with pytest.raises(ModelFileError, match=r"stopped|CPU|oversized"):
        render_chat(template, MSGS)  # type: ignore[arg-type]
    assert time.monotonic() - start < 5
    with pytest.raises(ModelFileError):  # the same model again: stopped again, no hang
        render_chat(template, MSGS)  # type: ignore[arg-type]
    assert render_chat(GOOD, MSGS) == "[user] hi"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'x'|center(2*10**9) }}",
        "{{ 'x' * 10**10 }}",
        "{{ '%2000000000d'|format(1) }}",
        "{{ ('x' * 4000000)|wordwrap(1) }}",
    ],
)
def test_huge_allocations_fail_in_the_worker_not_here(template: str) -> None:
    before = _rss_mb()
    start = time.monotonic()
    with pytest.raises(ModelFileError):
        render_chat(template, MSGS)  # type: ignore[arg-type]
    assert time.monotonic() - start < 5
    assert _rss_mb() - before < 100


def test_empty_rendering_is_a_clear_error() -> None:
    with pytest.raises(ModelFileError, match="no text"):
        render_chat("{% if false %}x{% endif %}", MSGS)  # type: ignore[arg-type]


def test_surrogates_travel_to_the_worker() -> None:
    out = render_chat(GOOD, [{"role": "user", "content": "a\ud800b"}])  # type: ignore[list-item]
    assert out == "[user] a\ud800b"


def test_llama_never_sees_the_template() -> None:
    seen: list[str] = []

    class FakeLlama:  # llama_cpp.Llama compiles whatever its metadata holds
        def __init__(self) -> None:
            self.metadata = {"tokenizer.chat_template": "{{ 'x' * 10**10 }}", "a": "b"}
            seen.extend(k for k in self.metadata if k.startswith("tokenizer.chat_template"))

    llm = template_free(FakeLlama)()
    assert seen == [] and llm.metadata == {"a": "b"}


def test_real_llama_has_no_template_handler() -> None:
    pytest.importorskip("llama_cpp")
    from openscout.engines import bundled
    from openscout.engines.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine("smollm2", bundled.smollm2_path(), n_ctx=256)
    assert engine.header.chat_template  # the file has one; openscout renders it
    assert not any("chat_template" in k for k in engine.llm.metadata)
    assert not any(k.startswith("chat_template") for k in engine.llm._chat_handlers)


def test_a_template_error_quoting_a_long_message_is_cut() -> None:
    """Errors other than raise_exception reached clients whole (tenth probe): a KeyError
    quoting a 5000-character message is cut to a few hundred characters."""
    long = "{" + "a" * 5000 + "}"
    with pytest.raises(ModelFileError) as e:
        render_chat("{{ messages[0].content.format() }}", [{"role": "user", "content": long}])  # type: ignore[list-item]
    assert "KeyError" in e.value.message and len(e.value.message) < 500
