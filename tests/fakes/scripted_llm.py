"""An in-memory stand-in for the `Llm` port (core/tutor/llm.py), for tests of what is built on
it (the tutor's performers, grading, drafts): it answers from a script and keeps every request.
The real langchain clients are tested against the loopback fakes of the provider APIs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.tutor.llm import LlmError, LlmReply, LlmRequest, LlmUsage

Answer = str | dict[str, Any] | LlmError | Callable[[LlmRequest], LlmReply]


class ScriptedLlm:
    """`ScriptedLlm("Spacing works because...")`; a dict is structured output; an LlmError
    instance is raised; a callable builds the reply from the request. The last answer repeats."""

    def __init__(self, *answers: Answer) -> None:
        self.answers: list[Answer] = list(answers) or ["(no answer scripted)"]
        self.requests: list[LlmRequest] = []
        self.closed = False

    def complete(self, request: LlmRequest) -> LlmReply:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, LlmError):
            raise answer
        if callable(answer):
            return answer(request)
        usage = LlmUsage(input_tokens=_tokens(request), output_tokens=40)
        if isinstance(answer, dict):
            return LlmReply(text="", usage=usage, data=answer, model="scripted")
        return LlmReply(text=answer, usage=usage, model="scripted")

    def close(self) -> None:
        self.closed = True


def _tokens(request: LlmRequest) -> int:
    """A rough count (4 characters a token), enough for budget tests."""
    text = request.system + request.context + "".join(m.text for m in request.messages)
    return max(1, len(text) // 4)
