"""Router configuration: keys, endpoints, Azure, decisions; no network."""

from __future__ import annotations

import pytest

from router.client import AsyncRouter, Router
from router.errors import ConfigurationError
from router.policy import Policy

POLICY = Policy.from_text("version: 1\ndefaults: {mode: stream}\nrules: []\n")
REQUEST = {"model": "gpt-4o", "messages": []}


def endpoint(router: Router, **kwargs: object) -> tuple[str, dict[str, str]]:
    found = router._endpoint(REQUEST, kwargs.get("headers"), kwargs.get("api_key"))  # type: ignore[arg-type]
    return found.url, dict(found.headers)


def test_the_key_comes_from_openai_api_key_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-0123456789")
    with Router(POLICY) as router:
        url, headers = endpoint(router)
    assert url == "https://api.openai.com/v1/chat/completions"
    assert headers["authorization"] == "Bearer sk-env-0123456789"


def test_a_named_key_variable_must_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="MY_KEY") as info:
        Router(POLICY, api_key_env="MY_KEY")
    assert info.value.code == "api_key_env"


def test_no_key_at_all_sends_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with Router(POLICY, base_url="http://localhost:8000/v1/") as router:
        url, headers = endpoint(router, headers={"x-extra": "1"})
    assert url == "http://localhost:8000/v1/chat/completions"
    assert headers == {"x-extra": "1"}


@pytest.mark.parametrize("base_url", ["ftp://example.com", "not a url", "http://"])
def test_a_bad_base_url_is_a_configuration_error(base_url: str) -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        Router(POLICY, base_url=base_url)


def test_azure_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key-123456")
    with Router(POLICY, base_url="https://res.openai.azure.com", provider="azure") as router:
        url, headers = endpoint(router)
    assert url == (
        "https://res.openai.azure.com/openai/deployments/gpt-4o/chat/completions"
        "?api-version=2024-10-21"
    )
    assert headers == {"api-key": "azure-key-123456"}
    deployment = "https://res.openai.azure.com/openai/deployments/prod"
    with Router(POLICY, base_url=deployment, azure_api_version="2025-01-01") as router:
        url, _ = endpoint(router)
    assert url == f"{deployment}/chat/completions?api-version=2025-01-01"


def test_a_calls_own_headers_and_key_never_reach_the_routers_later_calls() -> None:
    with Router(POLICY, base_url="http://127.0.0.1:9/v1", api_key="sk-router-0123456789") as r:
        _, tenant = endpoint(r, headers={"x-tenant": "acme"}, api_key="sk-tenant-0123456789")
        _, later = endpoint(r)
        _, again = endpoint(r)
    assert tenant == {"x-tenant": "acme", "authorization": "Bearer sk-tenant-0123456789"}
    assert later == again == {"authorization": "Bearer sk-router-0123456789"}


def test_an_azure_deployment_is_read_from_each_request() -> None:
    router = Router(POLICY, base_url="https://res.openai.azure.com", provider="azure")
    with router:
        urls = [router._endpoint({"model": name}, None, None).url for name in ("a", "b")]
    assert [url.split("/")[5] for url in urls] == ["a", "b"]


def test_azure_needs_a_deployment() -> None:
    router = Router(POLICY, base_url="https://res.openai.azure.com", provider="azure")
    with router, pytest.raises(ConfigurationError, match="deployment"):
        router._endpoint({"messages": []}, None, None)


def test_decide_needs_no_network_and_names_the_provider() -> None:
    with Router(POLICY, base_url="http://127.0.0.1:9/v1", provider="vllm") as router:
        decision = router.decide(REQUEST, audience="user")
    assert decision.mode == "stream"
    assert decision.intent.provider == "vllm"


def test_a_request_must_be_a_mapping() -> None:
    router = Router(POLICY, base_url="http://127.0.0.1:9/v1")
    with router, pytest.raises(ConfigurationError, match="mapping"):
        router.call(["not", "a", "body"])  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_async_router_shares_the_configuration() -> None:
    async with AsyncRouter(POLICY, base_url="http://127.0.0.1:9/v1", api_key="k-123456") as r:
        assert r.decide(REQUEST).mode == "stream"
        assert "k-123456" not in repr(r)
        assert "api_key=set" in repr(r)


def test_a_whole_answer_to_a_stream_request_is_accepted() -> None:
    import httpx

    answer = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "whole"},
                "finish_reason": "stop",
            }
        ],
    }
    seen: list[bool] = []

    def ignore_stream(request: httpx.Request) -> httpx.Response:
        import json

        seen.append(json.loads(request.content)["stream"])
        return httpx.Response(200, json=answer)

    client = httpx.Client(transport=httpx.MockTransport(ignore_stream))
    router = Router(POLICY, base_url="http://127.0.0.1:9/v1", http_client=client)
    with router, router.call(REQUEST) as call:
        deltas = list(call)
        completion = call.result()
    assert seen == [True]
    assert deltas == ["whole"]
    assert completion.mode == "batch"
    assert completion.mode_reason is not None
    assert "whole response" in completion.mode_reason


def test_compressed_answers_are_decoded() -> None:
    import gzip
    import json

    import httpx

    answer = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "zipped"}}],
    }
    body = gzip.compress(json.dumps(answer).encode())
    accepted: list[str] = []

    def gzipped(request: httpx.Request) -> httpx.Response:
        accepted.append(request.headers.get("accept-encoding", ""))
        headers = {"content-encoding": "gzip", "content-type": "application/json"}
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(body))

    client = httpx.Client(transport=httpx.MockTransport(gzipped))
    batch = Policy.from_text("version: 1\ndefaults: {mode: batch}\nrules: []\n")
    with Router(batch, base_url="http://127.0.0.1:9/v1", http_client=client) as router:
        assert router.complete(REQUEST).text == "zipped"
        with router.call(REQUEST) as call:
            assert list(call) == ["zipped"]
    streaming = Router(POLICY, base_url="http://127.0.0.1:9/v1", http_client=client)
    with streaming:
        assert streaming.complete(REQUEST).text == "zipped"
    assert "gzip" in accepted[0]
    assert accepted[-1] == "identity"  # streams are asked for plain


def test_without_a_usage_hook_no_usage_report_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    from router.call import CallCore

    def never(core: CallCore) -> object:
        raise AssertionError("a usage report was built with no hook to read it")

    monkeypatch.setattr(CallCore, "usage_report", never)
    answer = {"choices": [{"index": 0, "message": {"content": "ok"}, "finish_reason": "stop"}]}
    client = httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(200, json=answer)))
    with Router(POLICY, base_url="http://127.0.0.1:9/v1", http_client=client) as router:
        assert router.complete(REQUEST).text == "ok"
        router.call(REQUEST).close()  # a cancelled call reports too, to a hook


def test_a_whole_answer_that_fails_validation_keeps_its_batch_mode() -> None:
    import httpx

    from router.errors import ValidationFailed

    answer = {"choices": [{"index": 0, "message": {"content": "{no"}, "finish_reason": "stop"}]}
    client = httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(200, json=answer)))
    validating = Policy.from_text(
        "version: 1\ndefaults: {mode: stream, validate: true}\nrules: []\n"
    )
    request = {**REQUEST, "response_format": {"type": "json_object"}}
    router = Router(validating, base_url="http://127.0.0.1:9/v1", http_client=client)
    with router, pytest.raises(ValidationFailed) as info:
        router.complete(request)
    partial = info.value.partial
    assert partial is not None
    assert partial.mode == "batch"  # as a valid one would be: the server answered whole
    assert partial.mode_reason is not None
    assert "whole response" in partial.mode_reason
    assert [attempt.outcome for attempt in partial.attempts] == ["invalid"]
