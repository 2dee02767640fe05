"""The `usage` of a /v1 answer, counted one way on every path (OpenAI's).

A prompt's tokens count once, however many of its n choices were generated from it; the
completion tokens are summed over every choice. Streamed chat and both completion paths
counted the prompt n times while unstreamed chat counted it once, so the same request
reported 31 or 124 prompt tokens depending on how it was asked (41st probe).
"""

from __future__ import annotations


class Usage:
    def __init__(self) -> None:
        self._prompts: dict[int, int] = {}  # the tokens of each prompt of the request
        self.completion_tokens = 0

    def add(self, prompt: int, prompt_tokens: int, completion_tokens: int = 0) -> None:
        """One choice: `prompt` is the index of the prompt it answers (0 for a chat)."""
        self._prompts[prompt] = prompt_tokens
        self.completion_tokens += completion_tokens

    def counted(self, prompt: int) -> bool:
        return prompt in self._prompts

    def as_dict(self) -> dict[str, int]:
        p, c = sum(self._prompts.values()), self.completion_tokens
        return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
