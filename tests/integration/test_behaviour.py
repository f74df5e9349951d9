"""What the router does besides surviving faults: cancellation, connection reuse, usage,
hooks, request shaping, Azure, per-call credentials, secrets, policy swaps, validation."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from router.client import AsyncRouter, Router
from router.completion import Status
from router.errors import CallCancelled, HookFailed, UpstreamStatusError, ValidationFailed
from router.testing import Quirks, Reply, SimulatedProvider

from .conftest import API_KEY, REQUEST, policy, run_call

TEXT = "The quick brown fox jumps over the lazy dog"


# --- cancellation ------------------------------------------------------------------------


def test_closing_early_closes_the_upstream_and_cancels(provider: SimulatedProvider) -> None:
    provider.set_default(Reply.text(TEXT, token_delay=0.05))
    reports: list[Any] = []
    with Router(policy(), base_url=provider.base_url, usage_hook=reports.append) as router:
        with router.call(REQUEST) as call:
            assert next(call) == "The"
        assert provider.chat_requests[0].wait_client_closed(2.0)
        with pytest.raises(CallCancelled) as info:
            call.result()
    assert info.value.partial is not None
    assert info.value.partial.status is Status.CANCELLED
    assert info.value.partial.text == "The"
    assert [a.outcome for a in info.value.attempts] == ["cancelled"]
    assert [r.status for r in reports] == [Status.CANCELLED]


@pytest.mark.anyio
async def test_cancelling_the_task_closes_the_upstream(provider: SimulatedProvider) -> None:
    provider.set_default(Reply.text(TEXT, token_delay=0.05))
    reports: list[Any] = []
    seen: list[str] = []
    async with AsyncRouter(policy(), base_url=provider.base_url, usage_hook=reports.append) as r:
        call = r.call(REQUEST)
        with anyio.move_on_after(0.12):
            async for delta in call:
                seen.append(delta)
        closed = await anyio.to_thread.run_sync(provider.chat_requests[0].wait_client_closed, 2.0)
        assert closed
        with pytest.raises(CallCancelled):
            await call.result()
    assert seen
    assert len(seen) < len(TEXT.split())
    assert [r.status for r in reports] == [Status.CANCELLED]


@pytest.mark.anyio
async def test_aclose_closes_the_upstream(provider: SimulatedProvider) -> None:
    provider.set_default(Reply.text(TEXT, token_delay=0.05))
    async with AsyncRouter(policy(), base_url=provider.base_url) as router:
        async with router.call(REQUEST) as call:
            assert await call.__anext__() == "The"
        closed = await anyio.to_thread.run_sync(provider.chat_requests[0].wait_client_closed, 2.0)
        assert closed


# --- connection reuse --------------------------------------------------------------------


def test_a_warm_sync_client_opens_no_new_connections(provider: SimulatedProvider) -> None:
    with Router(policy(), base_url=provider.base_url) as router:
        for _ in range(3):
            assert router.complete(REQUEST).text
        router.replace_policy(policy(mode="batch"))
        assert router.complete(REQUEST).text
    assert provider.connections_opened == 1
    assert len({r.connection_id for r in provider.chat_requests}) == 1


@pytest.mark.anyio
async def test_a_warm_async_client_opens_no_new_connections(provider: SimulatedProvider) -> None:
    async with AsyncRouter(policy(), base_url=provider.base_url) as router:
        for _ in range(3):
            assert (await router.complete(REQUEST)).text
    assert provider.connections_opened == 1


# --- usage and request shaping ----------------------------------------------------------


def test_usage_is_requested_and_reported(kind: str, provider: SimulatedProvider) -> None:
    out = run_call(kind, provider, policy(include_usage="always"))
    assert provider.chat_requests[0].stream_options == {"include_usage": True}
    assert out.result.usage is not None
    assert out.result.usage.total_tokens
    (report,) = out.reports
    assert report.usage == out.result.usage
    assert report.reason is None
    assert report.status is Status.COMPLETE
    assert report.model == "gpt-4o-mini"
    assert report.decision_id == out.decisions[0].id
    assert report.attempts == tuple(out.result.attempts)


def test_a_stream_without_usage_says_why(kind: str, provider: SimulatedProvider) -> None:
    out = run_call(kind, provider, policy(include_usage="never"))
    assert provider.chat_requests[0].stream_options is None
    (report,) = out.reports
    assert report.usage is None
    assert "not requested" in (report.reason or "")


def test_no_stream_options_for_a_provider_that_rejects_them(
    kind: str, provider: SimulatedProvider
) -> None:
    provider.set_quirks(Quirks(reject_stream_options=True))
    out = run_call(
        kind, provider, policy(include_usage="always"), router_options={"stream_usage": False}
    )
    assert out.error is None, out.error
    assert provider.chat_requests[0].stream_options is None
    assert out.result.mode == "stream"
    assert "stream_options" in (out.reports[0].reason or "")


def test_billing_that_needs_usage_runs_in_batch_without_stream_options(
    kind: str, provider: SimulatedProvider
) -> None:
    provider.set_quirks(Quirks(reject_stream_options=True))
    out = run_call(
        kind,
        provider,
        policy(include_usage="always"),
        router_options={"stream_usage": False},
        billing="after_delivery",
    )
    assert out.error is None, out.error
    assert out.result.mode == "batch"
    assert out.result.mode_reason is not None
    assert "stream_options" in out.result.mode_reason
    assert provider.chat_requests[0].stream is False
    assert out.result.usage is not None


def test_the_callers_request_is_never_mutated(kind: str, provider: SimulatedProvider) -> None:
    request = json.loads(json.dumps(REQUEST))
    run_call(kind, provider, policy(include_usage="always"), request)
    assert request == REQUEST


# --- hooks --------------------------------------------------------------------------------


def test_before_delivery_runs_the_hook_before_any_text(
    kind: str, provider: SimulatedProvider
) -> None:
    events: list[str] = []

    def hook(report: Any) -> None:
        events.append(f"hook:{report.usage is not None}")

    out = run_call(
        kind,
        provider,
        policy(include_usage="always"),
        router_options={"usage_hook": hook},
        billing="before_delivery",
    )
    assert out.error is None, out.error
    assert events == ["hook:True"]
    assert out.result.text
    assert out.deltas == [out.result.text]  # withheld until the hook ran, then released at once


def test_before_delivery_hook_failure_withholds_the_text(
    kind: str, provider: SimulatedProvider
) -> None:
    def hook(report: Any) -> None:
        raise RuntimeError("billing is down")

    out = run_call(
        kind,
        provider,
        policy(include_usage="always"),
        router_options={"usage_hook": hook},
        billing="before_delivery",
    )
    assert isinstance(out.error, HookFailed)
    assert "billing is down" in str(out.error)
    assert out.deltas == []
    assert out.result.text == ""
    assert out.result.usage is not None


@pytest.mark.anyio
async def test_async_hooks_are_awaited(provider: SimulatedProvider) -> None:
    seen: list[str] = []

    async def usage_hook(report: Any) -> None:
        await anyio.lowlevel.checkpoint()
        seen.append(f"usage:{report.status}")

    async def decision_hook(record: Any) -> None:
        seen.append(f"decision:{record.mode}")

    async with AsyncRouter(
        policy(), base_url=provider.base_url, usage_hook=usage_hook, decision_hook=decision_hook
    ) as router:
        await router.complete(REQUEST)
    assert seen == ["decision:stream", "usage:complete"]


def test_the_decision_hook_sees_every_decision(kind: str, provider: SimulatedProvider) -> None:
    out = run_call(kind, provider, policy(), labels={"tenant": "acme"})
    (record,) = out.decisions
    assert record.mode == "stream"
    assert record.rule is None
    assert record.policy_sha256 == policy().sha256
    assert record.intent["labels"] == {"tenant": "acme"}
    assert record.to_dict()["policy"]["source"] == "test-policy.yaml"


def test_the_sync_router_refuses_async_hooks() -> None:
    from router.errors import ConfigurationError

    async def hook(report: Any) -> None:
        return None

    with pytest.raises(ConfigurationError, match="usage_hook is async"):
        Router(policy(), base_url="http://127.0.0.1:9", usage_hook=hook)


# --- endpoints and credentials ----------------------------------------------------------


def test_azure_deployment_url_api_version_and_api_key(
    kind: str, provider: SimulatedProvider
) -> None:
    root = provider.base_url.removesuffix("/v1")
    options = {"base_url": root, "provider": "azure", "azure_api_version": "2024-06-01"}
    out = run_call(kind, provider, policy(), router_options=options)
    assert out.error is None, out.error
    (request,) = provider.chat_requests
    assert request.path == "/openai/deployments/gpt-4o-mini/chat/completions"
    assert request.query == "api-version=2024-06-01"
    assert request.headers["api-key"] == API_KEY
    assert "authorization" not in request.headers


def test_per_call_headers_and_api_key(kind: str, provider: SimulatedProvider) -> None:
    other = "sk-tenant-0123456789abcdef"
    run_call(kind, provider, policy(), headers={"x-tenant": "acme"}, api_key=other)
    (request,) = provider.chat_requests
    assert request.headers["authorization"] == f"Bearer {other}"
    assert request.headers["x-tenant"] == "acme"


def test_secrets_never_reach_errors_or_reprs(kind: str, provider: SimulatedProvider) -> None:
    from router.testing import Fault

    provider.set_default(Fault.http_status(401, message=f"Incorrect API key provided: {API_KEY}"))
    out = run_call(kind, provider, policy(), headers={"x-api-key": API_KEY})
    assert isinstance(out.error, UpstreamStatusError)
    seen = [str(out.error), repr(out.error), repr(out.error.body), repr(out.error.attempts)]
    seen += [repr(out.result), repr(out.reports), json.dumps(out.reports[0].to_dict())]
    for text in seen:
        assert API_KEY not in text
    router = Router(policy(), base_url=provider.base_url, api_key=API_KEY)
    with router:
        call = router.call(REQUEST)
        assert API_KEY not in repr(router)
        assert API_KEY not in repr(call)
        call.close()


def test_replace_policy_applies_to_later_calls(provider: SimulatedProvider) -> None:
    with Router(policy(), base_url=provider.base_url) as router:
        first = router.call(REQUEST)
        router.replace_policy(policy(mode="batch"))
        second = router.call(REQUEST)
        assert first.decision.mode == "stream"
        assert second.decision.mode == "batch"
        assert first.result().mode == "stream"
        assert second.result().mode == "batch"


# --- validation ---------------------------------------------------------------------------

SCHEMA_REQUEST: dict[str, Any] = {
    **REQUEST,
    "response_format": {
        "type": "json_schema",
        "json_schema": {
            "name": "answer",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"n": {"type": "integer"}},
                "required": ["n"],
                "additionalProperties": False,
            },
        },
    },
}


def test_validated_answers_are_parsed(kind: str, provider: SimulatedProvider) -> None:
    provider.set_default(Reply.json({"n": 3}))
    out = run_call(kind, provider, policy(mode="batch", validate=True), SCHEMA_REQUEST)
    assert out.error is None, out.error
    assert out.result.parsed == {"n": 3}


def test_invalid_answers_fail_with_every_issue(kind: str, provider: SimulatedProvider) -> None:
    provider.set_default(Reply.json({"n": "three"}))
    out = run_call(kind, provider, policy(mode="batch", validate=True), SCHEMA_REQUEST)
    assert isinstance(out.error, ValidationFailed)
    assert out.error.issues
    assert out.error.partial is not None
    assert out.error.partial.status is Status.FAILED
    assert out.error.partial.text == '{"n": "three"}'
    assert [r.status for r in out.reports] == [Status.FAILED]


def test_asyncio_wait_for_cancels_cleanly(provider: SimulatedProvider) -> None:
    provider.set_default(Reply.text(TEXT, token_delay=0.05))

    async def main() -> None:
        async with AsyncRouter(policy(), base_url=provider.base_url) as router:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(router.complete(REQUEST), timeout=0.1)

    asyncio.run(main())
    assert provider.chat_requests[0].wait_client_closed(2.0)


# --- the caller's own pace ------------------------------------------------------------------


def test_a_slow_consumer_is_not_idle_sync(provider: SimulatedProvider) -> None:
    provider.set_default(Reply.text(TEXT, token_delay=0.01))
    router = Router(policy(idle=0.2), base_url=provider.base_url)
    with router, router.call(REQUEST) as call:
        for delta in call:
            if delta in ("The", " quick"):
                time.sleep(0.3)  # longer than idle: the caller's time, not the upstream's
        assert call.result().text == TEXT


@pytest.mark.anyio
async def test_a_slow_consumer_is_not_idle_async(provider: SimulatedProvider) -> None:
    provider.set_default(Reply.text(TEXT, token_delay=0.01))
    router = AsyncRouter(policy(idle=0.2), base_url=provider.base_url)
    async with router, router.call(REQUEST) as call:
        async for delta in call:
            if delta in ("The", " quick"):
                await anyio.sleep(0.3)
        assert (await call.result()).text == TEXT


# --- servers that answer otherwise ----------------------------------------------------------


def test_html_where_json_was_expected_fails_clearly(kind: str, provider: SimulatedProvider) -> None:
    from router.errors import StreamFailed
    from router.testing import Fault

    provider.set_default(Fault.wrong_content_type())
    out = run_call(kind, provider, policy(mode="batch", attempts=3))
    assert isinstance(out.error, StreamFailed)
    assert "not a chat completion" in str(out.error)
    assert len(provider.chat_requests) == 1
