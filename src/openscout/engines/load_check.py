"""A GGUF file opened and run by llama.cpp in a child process before this process opens it.

llama.cpp aborts the whole process (GGML_ASSERT, or a C++ exception nobody catches) on some
values in a file: a block_count of 0, expert counts that disagree, a token spelt twice, a
SentencePiece vocabulary without its byte tokens. One such file registered and one request
took `serve` down (nineteenth and twentieth probes). Which values it aborts on changes with
every llama.cpp release, so rather than copy that list, a short-lived child opens the file
first (the model, its adapter, a small context), tokenizes text holding every byte valid
UTF-8 can hold, turns every token back into text, and runs a short prompt and one more token
through it (some values abort only in the first computation). A file that kills or fails the
child is refused with a clear ModelFileError and this process never opens it. Text no fixed
sample reaches is the other half: tokenizer_child.py.

A verdict, pass or refusal, is remembered for the life of the process, per file version
(device, inode, size, modification and change times): each version costs one child (one to
a few seconds) once per process. The child opens the very file the caller holds open
(pinned.py), never whatever the name points to by then. The embedded models are checked by
their packages' SHA256 and trusted as the code is.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from openscout.engines.pinned import PinnedFile, Version, version_of
from openscout.errors import ModelFileError

TIMEOUT_S = 300.0  # mmap makes opening even a 70B file take seconds; a hang is refused
CONTEXT_TOKENS = 256
MEMORY_SLACK = 4 * 2**30  # beyond the files' sizes (mapped, so counted in the address space)
MAX_OUTPUT = 64 * 1024  # of the child's stderr kept for the message


def _odd_text() -> str:
    """Text whose UTF-8 holds every byte valid UTF-8 can hold (a SentencePiece vocabulary
    falls back to a byte token per byte of a character it lacks), emoji, CJK, separators."""
    latin = "".join(map(chr, range(1, 256)))  # 0x01-0x7F, 0xC2-0xC3 and 0x80-0xBF
    leads = [((b & 0x1F) << 6) for b in range(0xC4, 0xE0)]  # two-byte characters
    leads += [0x800] + [((b & 0x0F) << 12) for b in range(0xE1, 0xF0)]  # three bytes
    leads += [0x10000] + [((b & 0x07) << 18) for b in range(0xF1, 0xF5)]  # four
    return latin + "".join(map(chr, leads)) + "😀中文\u2028\u200b<|im_start|><s></s>[INST]"


ODD_TEXT = _odd_text()

_Key = tuple[tuple[Version, str | None], tuple[Version, str | None] | None]
_passed: set[_Key] = set()
# a refusal costs one child too; one for running out of time is kept NOT_YET_S, then tried
# again (a slow disk); each request for a file that held its check 300 s ran it again
# (twenty-first probe)
_refused: dict[_Key, tuple[ModelFileError, float]] = {}  # and when
NOT_YET_S = 600.0
_trusted: set[Version] = set()
_lock = threading.Lock()


_vouched: dict[Version, str] = {}  # a file version -> the SHA256 its package expects
_hashed: set[tuple[Version, str | None]] = set()  # opened files that hashed to it


def trust(path: Path, st: os.stat_result | None = None) -> Path:
    """Mark this version of an embedded model's file, one inside its installed package and
    as trusted as the code, safe to open."""
    _trusted.add(version_of(st or path.stat()))
    return path


def vouch(path: Path, st: os.stat_result, sha256: str) -> Path:
    """This version of a file in the data dir is an embedded model's if, opened, it hashes
    to `sha256`: a stamp beside it can be forged by whoever writes the data dir, and one
    made for a crafted copy skipped the load check (twenty-fifth probe)."""
    _vouched[version_of(st)] = sha256
    return path


def trusted(model: PinnedFile) -> bool:
    """The file, as opened, is an embedded model's (hashed once per version and header)."""
    if model.version in _trusted or model.key in _hashed:
        return True
    expected = _vouched.get(model.version)
    if expected is None or model.sha256() != expected:
        return False
    _hashed.add(model.key)
    return True


def check_loadable(model: PinnedFile, lora: PinnedFile | None = None) -> None:
    """Return once llama.cpp has opened `model` (with `lora`) in a child; ModelFileError if not."""
    key = (model.key, lora.key if lora else None)
    if lora is None and trusted(model):
        return
    with _lock:  # one child at a time: two requests for a new model wait for the first verdict
        if key in _passed:
            return
        refused, at = _refused.get(key, (None, 0.0))
        if refused is not None and not _expired(refused, at):
            raise refused  # each request for a bad file spawned a child (twentieth probe)
        try:
            _open_in_child(model, lora)
        except ModelFileError as e:
            _refused[key] = (e, time.monotonic())
            raise
        _passed.add(key)


def _expired(refused: ModelFileError, at: float) -> bool:
    return isinstance(refused, _NotYet) and time.monotonic() - at >= NOT_YET_S


class _NotYet(ModelFileError):
    """No verdict: the child ran out of time."""


def _open_in_child(model: PinnedFile, lora: PinnedFile | None) -> None:
    files = [model, lora] if lora else [model]
    cmd = [sys.executable, "-I", "-m", "openscout.engines.load_check"]
    cmd += [f.opened for f in files]  # the child inherits the descriptors these name
    # GGML_NO_BACKTRACE: ggml's abort handler would otherwise attach gdb to print a backtrace
    env = {**os.environ, "GGML_NO_BACKTRACE": "1"}
    try:
        done = subprocess.run(
            cmd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=TIMEOUT_S,
            pass_fds=[f.fd for f in files],
        )
    except subprocess.TimeoutExpired as e:
        raise _NotYet(
            f"llama.cpp did not open {model.name} within {TIMEOUT_S:.0f} s",
            hint="check the file (and the disk it lies on)",
        ) from e
    reply = done.stdout.decode("utf-8", "replace").strip().splitlines()
    verdict = _reply(reply[-1]) if reply else {}
    if done.returncode == 0 and verdict.get("ok"):
        return
    if "error" in verdict:
        said = str(verdict["error"]).replace(model.opened, model.name)
        raise ModelFileError(f"llama.cpp could not load {model.name}: {said}")
    raise ModelFileError(
        f"llama.cpp crashed opening {model.name}{_how(done.returncode)}"
        + (f" with the adapter {lora.name}" if lora else "")
        + _assertion(done.stderr[-MAX_OUTPUT:]),
        hint="the file's header holds values llama.cpp cannot use; download or convert it again",
    )


def _reply(line: str) -> dict[str, object]:
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _how(returncode: int) -> str:
    if returncode < 0:
        try:
            return f" ({signal.Signals(-returncode).name})"
        except ValueError:
            return f" (signal {-returncode})"
    return f" (exit status {returncode})"


def _assertion(stderr: bytes) -> str:
    """ggml's own line naming the failed check (or the C++ exception no one caught), the most
    useful thing the child said."""
    for line in reversed(stderr.decode("utf-8", "replace").splitlines()):
        if "GGML_ASSERT" in line or "what():" in line or "error" in line.lower():
            where, sep, what = line.strip().partition(": ")
            return ": " + (where.rsplit("/", 1)[-1] + sep + what)[:300]  # no build path
    return ""


def _child(argv: list[str]) -> None:
    import llama_cpp

    from openscout.engines.chat_template import template_free
    from openscout.engines.llama_log import quiet_llama

    quiet_llama(llama_cpp)
    _end_with_parent()
    paths = [Path(a) for a in argv]
    llama_cpp.llama_supports_gpu_offload()  # backends start (a GPU's reservations) before the cap
    _cap_memory(sum(p.stat().st_size for p in paths) + MEMORY_SLACK)
    try:
        llm = template_free(llama_cpp.Llama)(  # as the parent opens it: templates not compiled
            model_path=str(paths[0]),
            n_ctx=CONTEXT_TOKENS,
            n_batch=CONTEXT_TOKENS,
            n_threads=1,
            verbose=True,  # False sends fd 2 to /dev/null while loading, ggml's abort line too
            lora_path=str(paths[1]) if len(paths) > 1 else None,
        )
        _run_through(llm)
    except (ValueError, RuntimeError, OSError, MemoryError) as e:
        print(json.dumps({"error": _in_words(e)[:500]}), flush=True)
        return
    print(json.dumps({"ok": True}), flush=True)


def _in_words(e: BaseException) -> str:
    """The error's own words, or what its kind means: a header asking for a context of 2^31-1
    tokens ran past the memory cap with a bare MemoryError, refused with no reason at all."""
    if str(e):
        return str(e)
    if isinstance(e, MemoryError):
        return "it asked for more memory than a model file of its size needs (check the sizes in its header)"
    return e.__class__.__name__


def _run_through(llm: Any) -> None:
    """What a request does with the model, on text no tokenizer expects: a vocabulary without
    byte tokens aborted tokenizing a control character (std::out_of_range, uncaught)."""
    for special in (False, True):
        llm.tokenize(ODD_TEXT.encode("utf-8", "surrogatepass"), add_bos=True, special=special)
    for token in range(llm.n_vocab()):  # every piece a generation could print
        llm.detokenize([token], special=True)
    # some values pass loading and abort in the first computation (a rope dimension count of
    # 3 for gemma3; twentieth probe): a short prompt, then one generated token
    prompt = llm.tokenize(b"Hello, world.", add_bos=True)[:8] or [llm.token_bos()]
    llm.eval(prompt)
    llm.eval(prompt[-1:])
    # values that compute without aborting may compute nothing: a rope base of 0 or NaN, or
    # an adapter whose weights overflow, gave NaN scores; sampling them was a 500 for every
    # request (twenty-sixth probe)
    import numpy as np

    scores = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))
    if not np.isfinite(scores).all():
        raise ValueError("its scores for a short prompt are not numbers (NaN or infinite)")


def _end_with_parent() -> None:
    """A check outlived a killed `serve`, 1.1 GB for 25 s more (twenty-sixth probe): it stops
    when its parent goes, and within its CPU time in any case. (A parent-death signal would
    fire when the parent's opening thread ends, not the parent.)"""
    import resource

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    cpu = int(TIMEOUT_S) if hard == resource.RLIM_INFINITY else min(int(TIMEOUT_S), hard)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, hard))


def _cap_memory(more: int) -> None:
    """The address space now plus `more`: a header asking for absurd buffers fails here."""
    import resource

    try:
        with open("/proc/self/statm") as f:
            now = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return  # no /proc (macOS): the wall-clock limit still holds
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = now + more if hard == resource.RLIM_INFINITY else min(now + more, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))  # never above a limit set for us


if __name__ == "__main__":
    _child(sys.argv[1:])
