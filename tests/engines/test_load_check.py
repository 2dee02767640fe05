"""A GGUF file llama.cpp would abort on is opened in a child first and refused with a clear
error: a block_count of 0 killed `serve` with the first request for it (nineteenth probe)."""

from __future__ import annotations

import contextlib
import os
import resource
import struct
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from openscout.config import Settings
from openscout.engines import load_check
from openscout.engines.llamacpp import LlamaCppEngine
from openscout.engines.pinned import PinnedFile, version_of
from openscout.engines.tokenizer_child import ChildTokenizer
from openscout.errors import EngineError, ModelFileError
from tests.engines.child import run_in_child
from tests.evals.helpers import add_mock
from tests.gguf_factory import copy_with_metadata, raw_gguf
from tests.reliability.helpers import cli, serve

pytestmark = pytest.mark.real_model
pytest.importorskip("gguf")

# each aborts llama.cpp (a GGML_ASSERT) in the build openscout installs: (model, change)
ABORTS = {
    "no layers": ("smollm2_path", {"llama.block_count": 0}),
    # the vocabulary: no header check reads it
    "a token spelt twice": ("smollm2_path", "duplicate token"),
    # loads, then aborts tokenizing a control character (an uncaught std::out_of_range)
    "no byte tokens": ("gemma_path", "no byte tokens"),
    # loads, then aborts in the first computation (twentieth probe)
    "a rope of 3 dimensions": ("gemma_path", {"gemma3.rope.dimension_count": 3}),
}


def _changes(case: dict[str, int] | str, src: Path) -> dict[str, object]:
    if isinstance(case, dict):
        return dict(case)
    tokens = raw_gguf(src).strings("tokenizer.ggml.tokens")
    if case == "duplicate token":
        tokens[1002] = tokens[1003]
    else:  # SentencePiece's <0x00>..<0xFF>, which it falls back to for unknown characters
        tokens = [
            f"not-a-byte-{i}" if len(t) == 6 and t.startswith("<0x") else t
            for i, t in enumerate(tokens)
        ]
    return {"tokenizer.ggml.tokens": tokens}


@pytest.mark.parametrize(("model", "case"), ABORTS.values(), ids=ABORTS.keys())
def test_a_file_llama_cpp_aborts_on_is_refused(
    tmp_path: Path, request: pytest.FixtureRequest, model: str, case: dict[str, int] | str
) -> None:
    src = request.getfixturevalue(model)
    bad = copy_with_metadata(src, tmp_path / "bad.gguf", _changes(case, src))
    with pytest.raises(
        ModelFileError, match=r"crashed opening bad\.gguf \(SIGABRT\): ([a-z-]+\.cpp|what\(\))"
    ):
        LlamaCppEngine("bad", bad)  # this process survives to see the error


def test_a_refusal_is_kept_too(
    tmp_path: Path, smollm2_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each request for a refused file spawned a child again, one at a time under the lock:
    30 requests held the CPU 88 s (twentieth probe)."""
    children = []
    real = load_check._open_in_child
    monkeypatch.setattr(load_check, "_open_in_child", lambda *a: children.append(a) or real(*a))
    bad = copy_with_metadata(smollm2_path, tmp_path / "bad.gguf", {"llama.block_count": 0})
    for _ in range(3):
        with (
            pytest.raises(ModelFileError, match=r"crashed opening bad\.gguf"),
            PinnedFile(bad) as f,
        ):
            load_check.check_loadable(f)
    assert len(children) == 1
    # a check that ran out of time (a file can hold one 300 s) is kept too, for a while
    slow = copy_with_metadata(smollm2_path, tmp_path / "slow.gguf", {})
    monkeypatch.setattr(load_check, "TIMEOUT_S", 0.001)
    for _ in range(3):
        with pytest.raises(ModelFileError, match=r"did not open slow\.gguf"), PinnedFile(slow) as f:
            load_check.check_loadable(f)
    assert len(children) == 2
    monkeypatch.setattr(load_check, "NOT_YET_S", 0.0)
    with pytest.raises(ModelFileError, match="did not open"), PinnedFile(slow) as f:
        load_check.check_loadable(f)  # then it is tried again (a slow disk)
    assert len(children) == 3


def test_a_sound_copy_opens_and_its_verdict_is_kept(tmp_path: Path, smollm2_path: Path) -> None:
    good = copy_with_metadata(smollm2_path, tmp_path / "good.gguf", {})
    LlamaCppEngine("good", good).close()
    # ggml's abort handler forked gdb children that deadlocked two aborting threads (serve
    # wedged; twentieth probe): this process asks it not to
    assert os.environ.get("GGML_NO_BACKTRACE") == "1"

    def passed(path: Path) -> bool:
        return any(model[0] == version_of(path.stat()) for model, _ in load_check._passed)

    assert passed(good)
    good.write_bytes(good.read_bytes())  # a new version of the file is checked again
    assert not passed(good)


def test_serve_answers_an_error_and_stays_up(
    tmp_path: Path, cli_env: dict[str, str], settings: Settings, smollm2_path: Path
) -> None:
    add_mock(settings, "mock")  # the server's preloaded model
    bad = copy_with_metadata(smollm2_path, tmp_path / "blocks0.gguf", {"llama.block_count": 0})
    cli(cli_env, "models", "add", "blocks0", "--path", str(bad))
    log = tmp_path / "serve.log"
    with serve(cli_env, log=log) as (url, proc):
        r = httpx.post(
            url + "/v1/chat/completions",
            json={"model": "blocks0", "messages": [{"role": "user", "content": "hi"}]},
            timeout=60,
        )
        assert r.status_code == 503 and r.json()["error"]["code"] == "model_unavailable"
        assert proc.poll() is None
        assert httpx.get(url + "/health", timeout=5).status_code == 200
    assert "crashed opening blocks0.gguf (SIGABRT): llama-model.cpp" in log.read_text()
    gen = cli(cli_env, "generate", "-m", "blocks0", "hello", check=False)
    assert gen.returncode != 0 and "crashed opening blocks0.gguf" in gen.stderr


def _charsmap_out_of_bounds_after_e5() -> bytes:
    """A T5 (UGM) character map: a double array of 300 units whose only child of the root is
    the byte 0xE5, and whose next step for a second byte of 0xAD or more lands past the end;
    llama.cpp throws ("Index out of array bounds in XCDA array!") and no one catches it."""
    units = [0] * 300
    units[0xE5] = ((0x180 ^ 0xE5) << 10) | 0xE5  # base, and the label the check expects
    xcda = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(xcda)) + xcda + b"x\0" * 8


def test_text_a_crafted_vocabulary_crashes_on_costs_one_request(
    tmp_path: Path, gemma_path: Path
) -> None:
    """The file passes the load check (no fixed text reaches the one bad character); the
    request holding U+5FFF aborted `serve` (twentieth probe). Text for a file openscout cannot
    vouch for is tokenized in a child: that request fails, the process and the model live."""
    changes = {
        "tokenizer.ggml.model": "t5",
        "tokenizer.ggml.precompiled_charsmap": _charsmap_out_of_bounds_after_e5(),
    }
    bad = copy_with_metadata(gemma_path, tmp_path / "ugm.gguf", changes)
    engine = LlamaCppEngine("ugm", bad, n_ctx=256)
    try:
        fine = engine.tokenize("hello 中文")
        with pytest.raises(EngineError, match="tokenizer failed on this text"):
            engine.tokenize("hello \u5fff")
        assert engine.tokenize("hello 中文") == fine  # a fresh child, the same ids
    finally:
        engine.close()


def test_the_tokenizer_child_never_compiles_the_files_template(
    tmp_path: Path, smollm2_path: Path, smollm2_engine: LlamaCppEngine
) -> None:
    """llama-cpp-python compiles every chat template in the file when it opens it; Jinja folds
    `9**(9**8)` while compiling: each tokenize ran a minute of CPU (twenty-first probe)."""
    slow = copy_with_metadata(
        smollm2_path, tmp_path / "pow.gguf", {"tokenizer.chat_template": "{{ 9**(9**8) }}"}
    )
    pinned = PinnedFile(slow)
    child = ChildTokenizer(pinned)
    try:
        # quickly, and the ids the model's own tokenizer gives in this process
        text = "hello <|im_start|> 中文"
        assert child.tokenize(text, True, False) == smollm2_engine.tokenize(text)
        assert child.tokenize(text, True, True) == smollm2_engine.tokenize(text, special=True)
    finally:
        child.close()
        pinned.close()


def test_a_hard_memory_limit_set_for_openscout_is_kept_not_raised(
    tmp_path: Path, smollm2_path: Path
) -> None:
    """The child asked for more address space than a hard `ulimit -v` allows: every file
    was refused as a crash, sound ones too (twentieth probe)."""
    good = copy_with_metadata(smollm2_path, tmp_path / "good.gguf", {})
    limit = 3 * 2**30  # below what the child asked for: its address space now + 4 GiB

    def hard_limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    code = (
        "import sys; from openscout.engines.load_check import check_loadable;"
        " from openscout.engines.pinned import PinnedFile;"
        " check_loadable(PinnedFile(sys.argv[1])); print('ok')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(good)],
        capture_output=True, text=True, timeout=120, preexec_fn=hard_limit,
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_the_odd_text_holds_every_byte_utf8_can_hold() -> None:
    """A SentencePiece vocabulary lacking any one byte token aborts on a character that needs
    it: the check's text needs each byte once (0xC0, 0xC1 and 0xF5-0xFF never occur)."""
    never = {0xC0, 0xC1, *range(0xF5, 0x100)}
    assert set(load_check.ODD_TEXT.encode("utf-8")) == set(range(1, 0x100)) - never


SWAP_AFTER_CHECK = """
import os, sys
from pathlib import Path
from openscout.engines import load_check
from openscout.engines.llamacpp import LlamaCppEngine

path, other = Path(sys.argv[1]), Path(sys.argv[2])
real = load_check._open_in_child

def check_then_swap(*files):
    real(*files)  # the file at the path passes
    os.replace(other, path)  # and then the name names one llama.cpp aborts on

load_check._open_in_child = check_then_swap
engine = LlamaCppEngine("m", path, n_ctx=256)
ids = engine.tokenize("hello world")
engine._child_vocab.close()  # a fresh tokenizer child, as after a crash or a time-out
print("loaded", "same-ids" if engine.tokenize("hello world") == ids else "other-ids")
"""


def test_a_file_renamed_over_the_path_after_its_check_is_never_read(
    tmp_path: Path, smollm2_path: Path, gemma_path: Path
) -> None:
    """The check child opened the path, then this process opened the path again: a file
    renamed over it in between (another vocabulary, no layers) aborted `serve`, and a
    tokenizer child started later read the other vocabulary (twenty-second probe). Every
    opening now goes through the descriptor opened first. In a child: an abort must not
    take the test run with it."""
    path = copy_with_metadata(smollm2_path, tmp_path / "model.gguf", {})
    other = copy_with_metadata(gemma_path, tmp_path / "other.gguf", {"gemma3.block_count": 0})
    done = run_in_child(SWAP_AFTER_CHECK, path, other)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["loaded", "same-ids"]


WRITE_DURING_CHECK = """
import os, sys
from pathlib import Path
from openscout.engines import load_check
from openscout.engines.llamacpp import LlamaCppEngine
from openscout.errors import ModelFileError

path, other = Path(sys.argv[1]), Path(sys.argv[2])
real = load_check._open_in_child

def check_then_write(*files):
    real(*files)  # the file passes; then, in place, a header llama.cpp aborts on
    st = path.stat()
    with path.open("r+b") as f:
        f.write(other.read_bytes())
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # its modification time put back

load_check._open_in_child = check_then_write
try:
    LlamaCppEngine("m", path, n_ctx=256)
except ModelFileError as e:
    print(e.message)
load_check._open_in_child = real
LlamaCppEngine("m", path, n_ctx=256)  # the new version is checked, and refused
"""


def test_a_file_written_in_place_during_its_check_is_refused(
    tmp_path: Path, smollm2_path: Path
) -> None:
    """A header written in place (same size, its modification time put back) after the check
    child read it reached llama.cpp's parser in this process, which aborted (twenty-third
    probe). In a child: an abort must not take the test run with it."""
    path = copy_with_metadata(smollm2_path, tmp_path / "model.gguf", {})
    other = copy_with_metadata(smollm2_path, tmp_path / "other.gguf", {"llama.block_count": 0})
    assert other.stat().st_size == path.stat().st_size
    done = run_in_child(WRITE_DURING_CHECK, path, other)
    assert done.returncode == 1, done.stderr[-2000:]  # the second attempt: a clear refusal
    assert done.stdout.strip() == "model.gguf changed while it was being opened"
    assert "crashed opening model.gguf (SIGABRT)" in done.stderr


MAPPED_STORE = """
import mmap, os, sys, time
from pathlib import Path
from openscout.engines import loader
from openscout.engines.llamacpp import LlamaCppEngine
from openscout.engines.gguf import read_header

path, other = Path(sys.argv[1]), Path(sys.argv[2])
bad = other.read_bytes()
end = read_header(other).data_offset
with path.open("r+b") as f:
    mapped = mmap.mmap(f.fileno(), 0)
mapped[:end] = mapped[:end]  # the header's pages are written once, and the times set, now
time.sleep(0.05)
st = os.stat(path)
LlamaCppEngine("m", path, n_ctx=256).close()  # checked and loaded
mapped[:end] = bad[:end]  # a header llama.cpp aborts on, through the mapping: no new times
assert (os.stat(path).st_mtime_ns, os.stat(path).st_ctime_ns) == (st.st_mtime_ns, st.st_ctime_ns)
try:
    LlamaCppEngine("m", path, n_ctx=256)  # opened again, as after an eviction
except Exception as e:
    print(type(e).__name__, e.message.splitlines()[0])
"""


def test_a_header_stored_through_a_shared_mapping_is_checked_again(
    tmp_path: Path, smollm2_path: Path
) -> None:
    """Bytes stored through a MAP_SHARED mapping whose page was already written change no
    times: the verdict kept for the file's version let the next opening hand llama.cpp an
    unchecked header, and `serve` aborted (twenty-fourth probe). Verdicts are kept for the
    header's digest too. In a child: an abort must not take the test run with it."""
    path = copy_with_metadata(smollm2_path, tmp_path / "model.gguf", {})
    other = copy_with_metadata(smollm2_path, tmp_path / "other.gguf", {"llama.block_count": 0})
    done = run_in_child(MAPPED_STORE, path, other)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("ModelFileError llama.cpp crashed opening model.gguf")


@pytest.mark.parametrize("base", [0.0, float("nan")])
def test_a_file_whose_scores_are_not_numbers_is_refused(
    tmp_path: Path, smollm2_path: Path, base: float
) -> None:
    """A rope base of 0 or NaN loads and computes without aborting, but every score is NaN:
    each sampled request was a 500 "internal error", greedy ones empty (twenty-sixth probe)."""
    bad = copy_with_metadata(smollm2_path, tmp_path / "nan.gguf", {"llama.rope.freq_base": base})
    with pytest.raises(ModelFileError, match=r"nan\.gguf: its scores .* are not numbers"):
        LlamaCppEngine("nan", bad)


def test_an_adapter_whose_weights_overflow_is_refused(tmp_path: Path, smollm2_path: Path) -> None:
    """Every weight finite (1e15) and the scale within bounds, yet the product overflows:
    the header checks pass it, the computation does not (twenty-sixth probe)."""
    import numpy as np

    from openscout.engines.gguf import read_header
    from tests.gguf_factory import write_gguf

    width = 576  # SmolLM2-135M's hidden size: blk.0.attn_q.weight is 576 x 576
    tensors = [
        ("blk.0.attn_q.weight.lora_a", (width, 1), 0),
        ("blk.0.attn_q.weight.lora_b", (1, width), 0),
    ]
    meta = {
        "general.architecture": "llama",
        "general.type": "adapter",
        "adapter.type": "lora",
        "adapter.lora.alpha": 1e6,
    }
    lora = write_gguf(tmp_path / "big.gguf", metadata=meta, tensors=tensors)
    header = read_header(lora)
    with lora.open("r+b") as f:
        for t in header.tensors:
            f.seek(header.data_offset + t.offset)
            f.write(np.full(width, 1e15, dtype=np.float32).tobytes())
    with pytest.raises(ModelFileError, match="are not numbers"):
        LlamaCppEngine("big", smollm2_path, lora_path=lora)


def test_sampling_scores_that_are_not_numbers_is_an_engine_error() -> None:
    """Behind the load check, for input-dependent overflow: an error naming the cause, not a
    500 from numpy ("Probabilities contain NaN") or a greedy pick of the first NaN."""
    import numpy as np

    from openscout.engines.base import SamplingParams
    from openscout.engines.llamacpp_multi import sample

    logits = np.array([0.5, np.nan, 2.0], dtype=np.float32)
    for temperature in (0.0, 0.7):
        with pytest.raises(EngineError, match="not numbers"):
            sample(logits, SamplingParams(temperature=temperature), np.random.default_rng(0))
    assert sample(np.array([0.5, 3.0, 2.0]), SamplingParams(), np.random.default_rng(0)) == 1


def test_sampling_at_a_denormal_temperature_picks_the_best_token() -> None:
    import numpy as np

    from openscout.engines.base import SamplingParams
    from openscout.engines.llamacpp_multi import sample

    logits = np.array([0.5, 3.0, 2.0], dtype=np.float32)
    for temperature in (1e-310, 5e-324, 1e-7):
        assert (
            sample(logits, SamplingParams(temperature=temperature), np.random.default_rng(0)) == 1
        )
    assert SamplingParams(temperature=1e-6).temperature == 1e-6  # the floor itself samples


def test_a_refusal_without_words_still_gives_a_reason(smollm2_path: Path, tmp_path: Path) -> None:
    """A context length of 2^31-1 in the header ran the check past its memory cap with a bare
    MemoryError: "llama.cpp could not load ctxhuge.gguf: " and nothing after (27th probe)."""
    huge = copy_with_metadata(
        smollm2_path, tmp_path / "ctxhuge.gguf", {"llama.context_length": 2**31 - 1}
    )
    with pytest.raises(ModelFileError) as e:
        LlamaCppEngine("huge", huge)
    reason = e.value.message.split("ctxhuge.gguf:", 1)[1].strip()
    assert reason and "more memory" in reason


def test_the_check_ends_when_its_parent_is_killed(tmp_path: Path) -> None:
    """A check outlived a kill -9 of `serve` (twenty-sixth probe). Here the child opens a FIFO
    nobody writes, so it would wait for ever; its parent is killed at once."""
    import time

    fifo = tmp_path / "never.gguf"
    os.mkfifo(fifo)
    parent = (
        "import subprocess, sys, os\n"
        "child = subprocess.Popen([sys.executable, '-I', '-m', 'openscout.engines.load_check',"
        " sys.argv[1]], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)\n"
        "print(child.pid, flush=True)\n"
        "import time; time.sleep(2)\n"  # the child is past its start and waits on the FIFO
        "os.kill(os.getpid(), 9)\n"
    )
    out = subprocess.run([sys.executable, "-c", parent, str(fifo)], capture_output=True, text=True)
    child = int(out.stdout.split()[0])
    try:
        for _ in range(40):
            try:
                state = Path(f"/proc/{child}/stat").read_text().split(") ")[1][:1]
            except FileNotFoundError:
                return  # gone (reaped by init)
            if state == "Z":
                return  # ended; a zombie until init reaps it
            time.sleep(0.25)
        pytest.fail("the check outlived its parent by 10 s")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, 9)
