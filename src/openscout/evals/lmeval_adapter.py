"""An lm-evaluation-harness model backed by openscout engines (optional: needs `lm-eval`).

    from openscout.evals.lmeval_adapter import register
    register()   # then: lm_eval --model openscout --model_args model=smollm2-135m-instruct ...

or `lm_eval.simple_evaluate(model=make_lm("smollm2-135m-instruct"), tasks=[...])`.
The request handling lives in plain functions (no lm_eval import), so it is testable alone.
Requests are answered in an order that puts shared contexts next to each other (engines with
a prefix cache reuse it) and returned in the harness's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openscout.engines.base import Engine, SamplingParams, collect


def _by_context(contexts: Sequence[str]) -> list[int]:
    return sorted(range(len(contexts)), key=lambda i: (contexts[i], i))


def loglikelihoods(engine: Engine, requests: Sequence[tuple[str, str]]) -> list[tuple[float, bool]]:
    """(sum log p(continuation | context), whether greedy) for each (context, continuation)."""
    out: list[tuple[float, bool] | None] = [None] * len(requests)
    for i in _by_context([c for c, _ in requests]):
        ctx, cont = requests[i]
        r = engine.loglikelihood(ctx, cont)
        out[i] = (r.logprob, r.is_greedy)
    return [x for x in out if x is not None]


def rolling_loglikelihoods(engine: Engine, texts: Sequence[str]) -> list[float]:
    """Log-likelihood of each whole text (scored after the BOS token; long texts are cut left)."""
    return [engine.loglikelihood("", t).logprob for t in texts]


def generations(
    engine: Engine, prompt_format: str, requests: Sequence[tuple[str, dict[str, Any]]]
) -> list[str]:
    """Greedy (or sampled, when asked) continuations, cut at the harness's `until` strings."""
    out: list[str | None] = [None] * len(requests)
    for i in _by_context([c for c, _ in requests]):
        ctx, kw = requests[i]
        until = kw.get("until") or []
        until = [until] if isinstance(until, str) else list(until)
        temperature = float(kw.get("temperature", 0.0)) if kw.get("do_sample") else 0.0
        params = SamplingParams(
            temperature=temperature, max_tokens=int(kw.get("max_gen_toks", 256)), stop=tuple(until)
        )
        if prompt_format == "chat":
            text, _, _ = collect(engine.stream_chat([{"role": "user", "content": ctx}], params))
        else:
            text, _, _ = collect(engine.stream_completion(ctx, params))
        for s in until:  # engines stop at these already; cut again in case one did not
            if s and s in text:
                text = text[: text.index(s)]
        out[i] = text
    return [x if x is not None else "" for x in out]


def make_lm(model: str, settings: Any = None) -> Any:
    """An lm_eval LM instance for a registered openscout model id."""
    return _lm_class()(model=model, settings=settings)


_CLASS: Any = None


def _lm_class() -> Any:
    global _CLASS
    if _CLASS is not None:
        return _CLASS
    try:
        from lm_eval.api.model import LM
    except ImportError as e:
        from openscout.errors import OpenscoutError

        raise OpenscoutError(
            "the lm-eval adapter needs lm-evaluation-harness",
            hint="pip install 'openscout[lmeval]'",
        ) from e

    class OpenscoutLM(LM):  # type: ignore[misc]
        def __init__(self, model: str, settings: Any = None, **_: Any) -> None:
            from openscout.config import get_settings
            from openscout.engines.loader import open_engine
            from openscout.models import get_model

            super().__init__()
            self._settings = settings or get_settings()
            self._spec = get_model(self._settings, model)
            self.engine = open_engine(self._spec, self._settings)

        def loglikelihood(
            self, requests: list[Any], disable_tqdm: bool = False
        ) -> list[tuple[float, bool]]:
            return loglikelihoods(self.engine, [tuple(r.args[:2]) for r in requests])

        def loglikelihood_rolling(
            self, requests: list[Any], disable_tqdm: bool = False
        ) -> list[float]:
            return rolling_loglikelihoods(self.engine, [r.args[0] for r in requests])

        def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
            return generations(
                self.engine,
                self._spec.prompt_format,
                [(r.args[0], dict(r.args[1])) for r in requests],
            )

    _CLASS = OpenscoutLM
    return _CLASS


def register(name: str = "openscout") -> Any:
    """Register the adapter with lm_eval's model registry under `name`; return the class."""
    # lm_eval imports its built-in models only while its registry is empty: registering ours
    # first hid `local-completions` and the rest from everything later in the process.
    import lm_eval.models  # noqa: F401
    from lm_eval.api.registry import register_model

    cls = _lm_class()
    register_model(name)(cls)
    return cls
