"""How a conversation is sent: messages to a chat model, a Q/A prompt to a base model."""

from __future__ import annotations

from openscout.chat_prompt import BASE_STOPS, chat_request, qa_prompt
from openscout.engines.base import Message, SamplingParams

TALK: list[Message] = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "Paris."},
    {"role": "user", "content": " And of Italy? "},
]


def test_a_chat_model_gets_the_messages_and_the_params_unchanged() -> None:
    params = SamplingParams(max_tokens=9, stop=("x",))
    ask, sent = chat_request("chat", TALK, params)
    assert ask == {"messages": TALK}
    assert sent is params


def test_a_base_model_gets_a_question_answer_transcript() -> None:
    assert qa_prompt(TALK) == (
        "Answer briefly.\n\n"
        "Question: What is the capital of France?\n"
        "Answer: Paris.\n\n"
        "Question: And of Italy?\n"
        "Answer:"
    )


def test_a_base_model_stops_where_its_answer_ends_and_keeps_the_callers_stops() -> None:
    params = SamplingParams(temperature=0.5, max_tokens=9, stop=("END", "\n\n"))
    ask, sent = chat_request("completion", TALK[1:2], params)
    assert ask == {"prompt": "Question: What is the capital of France?\nAnswer:"}
    assert sent.stop == ("END", "\n\n", "\nQuestion:")  # each stop once, the caller's first
    assert set(BASE_STOPS) <= set(sent.stop)
    assert (sent.temperature, sent.max_tokens) == (0.5, 9)
