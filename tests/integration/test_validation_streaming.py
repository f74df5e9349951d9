"""Validating streamed answers, against the real server: at the end, and progressively.

With `validate: true` a stream's text reaches the caller as it arrives and the assembled
answer is judged at the end; with `validate: {progressive: true}` an answer that can no
longer be valid stops the stream at once, closing the upstream connection.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from router.client import Router
from router.completion import Status
from router.errors import CallError, ValidationFailed
from router.policy import Policy
from router.testing import Reply, SimulatedProvider
from router.validation import AnswerSpec

from .conftest import API_KEY, REQUEST, run_call

#: A search-results answer: a list of hits, each with a kind from an enum and a score.
RESULTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "query": {"type": "string"},
        "hits": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "title": {"type": "string", "minLength": 1},
                    "url": {"type": "string", "pattern": "^https://"},
                    "kind": {"enum": ["article", "video", "forum"]},
                    "score": {"type": "number", "minimum": 0, "maximum": 1},
                },
                "required": ["title", "url", "kind", "score"],
                "additionalProperties": False,
            },
        },
        "total": {"type": "integer", "minimum": 0},
    },
    "required": ["query", "hits", "total"],
    "additionalProperties": False,
}
RESULTS_REQUEST: dict[str, Any] = {
    **REQUEST,
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": "results", "strict": True, "schema": RESULTS_SCHEMA},
    },
}
HITS = [
    {
        "title": f"Result number {n} about streaming parsers",
        "url": f"https://example.org/articles/{n}",
        "kind": "article",
        "score": round(1 - n / 1000, 3),
    }
    for n in range(120)
]
VALID = {"query": "incremental json", "hits": HITS, "total": len(HITS)}
#: Wrong from the second hit on (an unknown kind): doomed long before its end.
EARLY_BROKEN = {**VALID, "hits": [HITS[0], {**HITS[1], "kind": "podcast"}, *HITS[2:]]}
#: Every part fine until the end, where `total` is missing: only the whole answer shows it.
LATE_BROKEN = {"query": "incremental json", "hits": HITS}
CHUNK = 8


def stream_policy(validate: str, *, attempts: int = 1) -> Policy:
    """Every call streamed and validated as `validate` says (YAML), with short clocks."""
    text = (
        "version: 1\n"
        "defaults:\n"
        "  mode: stream\n"
        "  stream: {include_usage: always, fallback: none}\n"
        f"  validate: {validate}\n"
        "  timeouts: {connect: 1s, first_token: 0.5s, idle: 0.5s, total: 8s}\n"
        f"  retries: {{attempts: {attempts}, backoff: {{initial: 20ms, max: 40ms}}}}\n"
        "rules: []\n"
    )
    return Policy.from_text(text, source="stream-validation.yaml")


@pytest.mark.parametrize("validate", ["true", "{progressive: true}"])
def test_a_valid_answer_streams_then_validates(
    kind: str, provider: SimulatedProvider, validate: str
) -> None:
    provider.set_default(Reply.json(VALID, chunk_chars=CHUNK))
    out = run_call(kind, provider, stream_policy(validate), RESULTS_REQUEST)
    assert out.error is None, out.error
    text = json.dumps(VALID)
    assert len(out.deltas) > 100  # delivered as it arrived, not held back for validation
    assert "".join(out.deltas) == text
    assert out.result.parsed == VALID
    assert out.result.status is Status.COMPLETE
    assert [(a.mode, a.outcome) for a in out.result.attempts] == [("stream", "ok")]
    (request,) = provider.chat_requests
    assert not request.client_closed


@pytest.mark.parametrize("validate", ["true", "{progressive: true}"])
def test_an_answer_wrong_only_at_the_end_fails_after_streaming(
    kind: str, provider: SimulatedProvider, validate: str
) -> None:
    provider.set_default(Reply.json(LATE_BROKEN, chunk_chars=CHUNK))
    out = run_call(kind, provider, stream_policy(validate), RESULTS_REQUEST)
    assert isinstance(out.error, ValidationFailed)
    assert [issue.path for issue in out.error.issues] == ["$"]
    assert out.error.issues[0].message == '"total" is a required property'
    text = json.dumps(LATE_BROKEN)
    assert "".join(out.deltas) == text  # everything streamed before the verdict
    partial = out.error.partial
    assert partial is not None
    assert partial.text == text
    assert partial.status is Status.FAILED
    assert partial.usage is not None  # the stream was read to its end, usage chunk included
    assert [a.outcome for a in out.error.attempts] == ["invalid"]
    (request,) = provider.chat_requests
    assert not request.client_closed
    (report,) = out.reports
    assert report.status is Status.FAILED


def test_a_stream_that_goes_wrong_early_is_stopped(kind: str, provider: SimulatedProvider) -> None:
    text = json.dumps(EARLY_BROKEN)
    scripted = -(-len(text) // CHUNK)
    # Paced, so that stopping early is visible: the whole answer would take over 4 s.
    provider.set_default(Reply.json(EARLY_BROKEN, chunk_chars=CHUNK, token_delay=0.004))
    out = run_call(kind, provider, stream_policy("{progressive: true}"), RESULTS_REQUEST)

    assert isinstance(out.error, ValidationFailed)
    assert "can no longer match its schema" in str(out.error)
    assert [issue.path for issue in out.error.issues] == ["$.hits[1].kind"]
    assert len(out.deltas) < scripted // 10
    assert out.elapsed < 2.0
    (request,) = provider.chat_requests
    assert request.wait_client_closed(2.0)  # the upstream connection was closed at once
    partial = out.error.partial
    assert partial is not None
    assert partial.status is Status.FAILED
    assert text.startswith(partial.text)
    assert partial.text.startswith("".join(out.deltas))
    assert out.error.raw == partial.text
    assert [(a.mode, a.outcome) for a in out.error.attempts] == [("stream", "invalid")]
    assert out.error.attempts[0].issues == out.error.issues
    (report,) = out.reports
    assert report.status is Status.FAILED
    assert report.error is not None
    assert report.error.startswith("ValidationFailed")


def test_a_stream_stopped_early_is_neither_retried_nor_reasked(
    kind: str, provider: SimulatedProvider
) -> None:
    # Re-asks and retries are on, and the text is held back (nothing reaches the caller), so
    # only the progressive stop itself keeps the call from asking again.
    provider.set_default(Reply.json(EARLY_BROKEN, chunk_chars=CHUNK))
    policy = stream_policy("{reask: 2, progressive: true}", attempts=3)
    out = run_call(kind, provider, policy, RESULTS_REQUEST, billing="before_delivery")

    assert isinstance(out.error, ValidationFailed)
    assert [issue.path for issue in out.error.issues] == ["$.hits[1].kind"]
    assert out.deltas == []
    assert len(provider.chat_requests) == 1
    assert [(a.mode, a.outcome) for a in out.error.attempts] == [("stream", "invalid")]


def test_iteration_raises_once_then_result_repeats_the_error(provider: SimulatedProvider) -> None:
    provider.set_default(Reply.json(LATE_BROKEN, chunk_chars=CHUNK))
    with (
        Router(stream_policy("true"), base_url=provider.base_url, api_key=API_KEY) as router,
        router.call(RESULTS_REQUEST) as call,
    ):
        received: list[str] = []
        with pytest.raises(ValidationFailed) as raised:
            received.extend(call)
        assert "".join(received) == json.dumps(LATE_BROKEN)
        assert list(call) == []  # the iteration is over
        with pytest.raises(CallError) as again:
            call.result()
        assert again.value is raised.value


def test_a_call_reads_what_its_answer_must_be_once(
    kind: str, provider: SimulatedProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The progressive checker and the final validation share one reading of the request:
    # its schema is looked up in the cache once per call, not once per use.
    reads: list[object] = []
    read = AnswerSpec.from_request.__func__  # type: ignore[attr-defined]

    def counted(cls: type[AnswerSpec], request: Any, **options: Any) -> AnswerSpec:
        reads.append(request)
        spec: AnswerSpec = read(cls, request, **options)
        return spec

    monkeypatch.setattr(AnswerSpec, "from_request", classmethod(counted))
    provider.set_default(Reply.json(VALID, chunk_chars=CHUNK))
    out = run_call(kind, provider, stream_policy("{progressive: true}"), RESULTS_REQUEST)
    assert out.error is None, out.error
    assert out.result.parsed == VALID
    assert len(reads) == 1
