"""Text tokenized in a worker child for a model file openscout cannot vouch for.

llama.cpp's tokenizers throw C++ exceptions nobody catches on vocabularies made to: a
SentencePiece vocabulary without one byte token, a T5 character map that points past its
end. The process aborts, `serve` with it, on the first request holding the one character
that reaches the fault (twentieth probe), and no fixed text run at load time can find every
such character. So for any file but the embedded models, text goes to a worker child holding
the same vocabulary (`vocab_only`): a crash there costs that one request an error, and the
next call starts a fresh child. The ids are the ones the model's own tokenizer gives: the
same code reads the same vocabulary, from the very file the model was loaded from (every
child opens the engine's descriptor, pinned.py: a file renamed over the path since is never
read).
"""

from __future__ import annotations

from typing import Any

from openscout.engines.pinned import PinnedFile
from openscout.errors import EngineError, WorkerError, WorkerLimitError
from openscout.worker import Limits, Worker

JOB = "openscout.engines.tokenizer_child:tokenize"
# a vocabulary of 262k tokens loads in a second; 4 MiB of text tokenizes in a few
LIMITS = Limits(memory_bytes=2 * 2**30, cpu_seconds=60, timeout=120.0)

_vocabularies: dict[str, Any] = {}  # in the child: the one vocabulary it holds


def tokenize(path: str, text: str, add_bos: bool, special: bool) -> list[int]:
    """The job, run in the child."""
    llm = _vocabularies.get(path)
    if llm is None:
        import llama_cpp

        from openscout.engines.chat_template import template_free
        from openscout.engines.llama_log import quiet_llama

        quiet_llama(llama_cpp)
        _vocabularies.clear()
        # use_mmap off: the vocabulary is read, the weights are not mapped (address space);
        # template_free: llama-cpp-python would compile the file's chat templates, and a
        # constant-folded one took a minute of CPU per request (twenty-first probe)
        llm = template_free(llama_cpp.Llama)(path, vocab_only=True, use_mmap=False, verbose=False)
        _vocabularies[path] = llm
    return list(llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special))


class ChildTokenizer:
    def __init__(self, model: PinnedFile) -> None:
        self.path = model.opened  # open in the caller as long as this lives
        self._worker = Worker(JOB, LIMITS, pass_fds=(model.fd,))

    def tokenize(self, text: str, add_bos: bool, special: bool) -> list[int]:
        try:
            ids = self._worker.call(path=self.path, text=text, add_bos=add_bos, special=special)
        except (WorkerError, WorkerLimitError) as e:
            raise EngineError(
                f"the model's tokenizer failed on this text ({e.message})",
                hint="other text may still work; if this recurs, the file's vocabulary may be "
                "damaged: download or convert it again",
            ) from e
        return [int(i) for i in ids]

    def close(self) -> None:
        self._worker.close()
