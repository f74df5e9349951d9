"""`Router` and `AsyncRouter`: decide how to run each call, then run it with httpx.

Both share `_RouterBase` (configuration, the policy, endpoints, hooks) and the call core in
`router.call`; they differ only in the httpx client and the handle they return. This module
is also the one place where httpx's exceptions become `RouterError`s (`map_httpx_error`).
"""

from __future__ import annotations

import inspect
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypedDict, TypeVar, Unpack

import httpx

from router.call import AsyncCall, Call, CallCore, Endpoint, UsageReport
from router.errors import (
    ConfigurationError,
    ConnectionFailed,
    ConnectTimeout,
    HookFailed,
    RouterError,
    StreamFailed,
    StreamInterrupted,
    UpstreamStatusError,
)
from router.http import new_async_client, new_sync_client
from router.redact import redact_text

if TYPE_CHECKING:
    from router.completion import Completion
    from router.decision import Decision
    from router.policy import Policy

__all__ = ["AsyncRouter", "DecisionRecord", "Router", "RouterOptions", "map_httpx_error"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_AZURE_API_VERSION = "2024-10-21"

UsageHook = Callable[[UsageReport], Any]
DecisionHook = Callable[["DecisionRecord"], Any]

#: The handle a router returns: `Call` (sync) or `AsyncCall`.
HandleT = TypeVar("HandleT", Call, AsyncCall)


class RouterOptions(TypedDict, total=False):
    """The keyword options `Router` and `AsyncRouter` share (see `Router`)."""

    base_url: str
    api_key: str | None
    api_key_env: str | None
    headers: Mapping[str, str] | None
    provider: str
    stream_usage: bool
    azure_api_version: str | None


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """What the decision-log hook receives for every call: which rule chose which mode, why."""

    id: str
    mode: str
    rule: str | None
    policy_source: str
    policy_sha256: str
    intent: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready log record."""
        return {
            "id": self.id,
            "mode": self.mode,
            "rule": self.rule,
            "policy": {"source": self.policy_source, "sha256": self.policy_sha256},
            "intent": self.intent,
        }


# --- the one place httpx exceptions are mapped --------------------------------------------


def map_httpx_error(exc: BaseException, core: CallCore, now: float) -> RouterError:
    """Translate an exception raised by httpx (or a read timeout) during `core`'s attempt.

    Timeouts become the error of the clock that ran out (httpx's read timeout is always the
    tightest running clock); network failures before the response are `ConnectionFailed`,
    during a stream `StreamInterrupted`; bad URLs are configuration errors.
    """
    secrets = core.endpoint.secrets
    detail = redact_text(
        f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, secrets
    )
    clocks = core.clocks
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        if clocks.expired(now) == "total":
            return core.timeout_error("total")
        limit_ms = clocks.limit_ms("connect")
        return ConnectTimeout(
            f"connect timeout: no connection to {core.endpoint_name()} within {limit_ms:g} ms",
            limit_ms=limit_ms,
        )
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        clock = clocks.expired(now) or clocks.tightest(now)[0]
        return core.timeout_error(clock)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL | httpx.CookieConflict):
        return ConfigurationError(f"cannot send the request: {detail}", code="url")
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        return UpstreamStatusError(f"the provider answered {status}", status_code=status)
    if isinstance(exc, httpx.DecodingError):
        return StreamFailed(f"the response body could not be decoded ({detail})")
    if isinstance(exc, httpx.StreamError):
        return StreamFailed(f"the response stream was misused ({detail})")
    if isinstance(exc, httpx.ConnectError):
        return ConnectionFailed(f"could not connect to {core.endpoint_name()} ({detail})")
    if core.status_code is not None and core.assembler is not None:
        return StreamInterrupted(f"the connection dropped mid-stream ({detail})")
    return ConnectionFailed(f"the connection to {core.endpoint_name()} failed ({detail})")


# --- configuration shared by both routers ---------------------------------------------------


def _load_policy(policy: Policy | str | os.PathLike[str] | None) -> Policy:
    from router.policy import Policy, load_policy

    if isinstance(policy, Policy):
        return policy
    return load_policy(policy)


class _RouterBase(ABC, Generic[HandleT]):
    """Configuration, policy, endpoints and starting calls; no I/O.

    `call` is shared: the drivers differ only in the handle they build (`_handle`).
    """

    def __init__(
        self,
        policy: Policy | str | os.PathLike[str] | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        api_key_env: str | None = None,
        headers: Mapping[str, str] | None = None,
        provider: str = "openai",
        stream_usage: bool = True,
        usage_hook: UsageHook | None = None,
        decision_hook: DecisionHook | None = None,
        azure_api_version: str | None = None,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ConfigurationError(
                f"base_url must be an http(s) URL with a host, got {base_url!r}", code="base_url"
            )
        self._policy = _load_policy(policy)
        self._policy_lock = threading.Lock()
        self._base_url = base_url.rstrip("/")
        self._provider = provider
        self._azure = provider == "azure" or azure_api_version is not None
        self._azure_api_version = azure_api_version or DEFAULT_AZURE_API_VERSION
        self._api_key = self._resolve_key(api_key, api_key_env)
        self._headers = dict(headers or {})
        self._stream_usage = stream_usage
        self._usage_hook = usage_hook
        self._decision_hook = decision_hook
        from router.providers import get_dialect

        self._dialect = get_dialect("azure" if self._azure else provider)
        #: The endpoint of every call that brings no headers or key of its own and needs no
        #: deployment from its request: built once, not per call.
        self._own_endpoint = (
            None
            if self._azure and "/deployments/" not in self._base_url
            else self._build_endpoint(None, None, None)
        )

    def _resolve_key(self, api_key: str | None, api_key_env: str | None) -> str | None:
        if api_key is not None:
            return api_key
        if api_key_env is not None:
            value = os.environ.get(api_key_env)
            if not value:
                raise ConfigurationError(
                    f"the environment variable {api_key_env} (api_key_env) is not set",
                    code="api_key_env",
                )
            return value
        names = ("AZURE_OPENAI_API_KEY", "OPENAI_API_KEY") if self._azure else ("OPENAI_API_KEY",)
        for name in names:
            value = os.environ.get(name)
            if value:
                return value
        return None  # local servers need no key

    @property
    def policy(self) -> Policy:
        """The policy new calls are decided by."""
        return self._policy

    def replace_policy(self, policy: Policy | str | os.PathLike[str]) -> None:
        """Swap the policy atomically: calls that start afterwards use the new one."""
        loaded = _load_policy(policy)
        with self._policy_lock:
            self._policy = loaded

    def decide(self, request: Mapping[str, Any] | None = None, **hints: Any) -> Decision:
        """The decision for a call, without any network."""
        hints.setdefault("provider", self._provider)
        return self._policy.decide(request, **hints)

    def __repr__(self) -> str:
        key = "set" if self._api_key else "none"
        return (
            f"<{type(self).__name__} provider={self._provider!r} base_url="
            f"{redact_text(self._base_url, [self._api_key])!r} api_key={key} "
            f"policy={self._policy.source!r}>"
        )

    def _endpoint(
        self,
        request: Mapping[str, Any],
        headers: Mapping[str, str] | None,
        api_key: str | None,
    ) -> Endpoint:
        """Where this call goes, with which credentials (the router's own when it can)."""
        if headers is None and api_key is None and self._own_endpoint is not None:
            return self._own_endpoint
        return self._build_endpoint(request.get("model"), headers, api_key)

    def _build_endpoint(
        self, deployment: object, headers: Mapping[str, str] | None, api_key: str | None
    ) -> Endpoint:
        key = api_key if api_key is not None else self._api_key
        merged = {**self._headers, **(headers or {})}
        if self._azure:
            base = self._base_url
            if "/deployments/" not in base:
                if not isinstance(deployment, str) or not deployment:
                    raise ConfigurationError(
                        "Azure OpenAI needs a deployment: put it in base_url "
                        "(.../openai/deployments/NAME) or in the request's model",
                        code="azure_deployment",
                    )
                base = f"{base}/openai/deployments/{deployment}"
            url = f"{base}/chat/completions?api-version={self._azure_api_version}"
            if key:
                merged["api-key"] = key
        else:
            url = f"{self._base_url}/chat/completions"
            if key:
                merged["authorization"] = f"Bearer {key}"
        secrets = tuple(s for s in (key, self._api_key) if s)
        return Endpoint(url=url, headers=merged, secrets=secrets)

    def _prepare(
        self,
        request: Mapping[str, Any],
        *,
        deadline: float | None,
        headers: Mapping[str, str] | None,
        api_key: str | None,
        response_model: Any,
        hints: dict[str, Any],
    ) -> tuple[CallCore, DecisionRecord | None]:
        """Decide the call and build its core; the decision record only for a decision hook.

        The record's intent dict costs about as much as the decision itself, so a router
        without a hook does not build it.
        """
        started = time.monotonic()
        if not isinstance(request, Mapping):
            raise ConfigurationError(
                f"a request is a Chat Completions body (a mapping), got {type(request).__name__}",
                code="request",
            )
        policy = self._policy  # read once: a concurrent replace_policy cannot split a call
        hints.setdefault("provider", self._provider)
        decision = policy.decide(request, **hints)
        decision_id = os.urandom(16).hex()
        record = None
        if self._decision_hook is not None:
            record = DecisionRecord(
                id=decision_id,
                mode=decision.mode,
                rule=decision.rule,
                policy_source=policy.source,
                policy_sha256=policy.sha256,
                intent=decision.intent.to_dict(),
            )
        core = CallCore.create(
            decision=decision,
            decision_id=decision_id,
            request=request,
            dialect=self._dialect,
            endpoint=self._endpoint(request, headers, api_key),
            stream_usage=self._stream_usage,
            deadline=deadline,
            response_model=response_model,
            now=started,
        )
        return core, record

    def call(
        self,
        request: Mapping[str, Any],
        *,
        deadline: float | None = None,
        headers: Mapping[str, str] | None = None,
        api_key: str | None = None,
        response_model: Any = None,
        **hints: Any,
    ) -> HandleT:
        """Start a call: iterate the handle for text deltas (`async for` with `AsyncRouter`),
        then `result()`.

        The decision is made now. `deadline` (seconds) can only shorten the policy's `total`;
        `headers` and `api_key` apply to this call only (bring-your-own-key tenants);
        `response_model` (a pydantic model) validates and parses the answer; `hints` are
        intent fields.
        """
        core, record = self._prepare(
            request,
            deadline=deadline,
            headers=headers,
            api_key=api_key,
            response_model=response_model,
            hints=hints,
        )
        return self._handle(core, record)

    @abstractmethod
    def _handle(self, core: CallCore, record: DecisionRecord | None) -> HandleT:
        """The sync or async handle that drives `core` (each router builds its own).

        `record` is None exactly when the router has no decision hook.
        """

    def _decision_failed(self, exc: Exception) -> HookFailed:
        return HookFailed(f"the decision hook raised {type(exc).__name__}: {exc}")


class Router(_RouterBase[Call]):
    """Decide per call whether to stream or fetch whole, then run the call (sync).

    `Router(policy=None, *, base_url=..., api_key=None, api_key_env=None, headers=None,
    provider="openai", stream_usage=True, http_client=None, usage_hook=None,
    decision_hook=None, azure_api_version=None)`. Without `api_key` or `api_key_env`, the key
    comes from `OPENAI_API_KEY` (Azure: `AZURE_OPENAI_API_KEY` first), or none is sent.
    """

    def __init__(
        self,
        policy: Policy | str | os.PathLike[str] | None = None,
        *,
        http_client: httpx.Client | None = None,
        usage_hook: UsageHook | None = None,
        decision_hook: DecisionHook | None = None,
        **options: Unpack[RouterOptions],
    ) -> None:
        for name, hook in (("usage_hook", usage_hook), ("decision_hook", decision_hook)):
            if hook is not None and inspect.iscoroutinefunction(hook):
                raise ConfigurationError(
                    f"{name} is async; the sync Router needs a plain function "
                    "(use AsyncRouter for async hooks)",
                    code=name,
                )
        super().__init__(policy, usage_hook=usage_hook, decision_hook=decision_hook, **options)
        self._owns_client = http_client is None
        self._client = new_sync_client() if http_client is None else http_client

    def _handle(self, core: CallCore, record: DecisionRecord | None) -> Call:
        """The sync handle; the decision hook runs now, before the handle is returned."""
        if self._decision_hook is not None and record is not None:
            try:
                self._decision_hook(record)
            except Exception as exc:
                raise self._decision_failed(exc) from exc
        return Call(
            core, client=self._client, map_error=map_httpx_error, usage_hook=self._usage_hook
        )

    def complete(self, request: Mapping[str, Any], **kwargs: Any) -> Completion:
        """Run a call to the end and return its `Completion` (raises its `CallError`)."""
        with self.call(request, **kwargs) as call:
            return call.result()

    def close(self) -> None:
        """Close the connection pool (only a client the router created)."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Router:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncRouter(_RouterBase[AsyncCall]):
    """The async twin of `Router`: `async with router.call(...) as call: async for ...`.

    Hooks may be plain or async functions.
    """

    def __init__(
        self,
        policy: Policy | str | os.PathLike[str] | None = None,
        *,
        http_client: httpx.AsyncClient | None = None,
        usage_hook: UsageHook | None = None,
        decision_hook: DecisionHook | None = None,
        **options: Unpack[RouterOptions],
    ) -> None:
        super().__init__(policy, usage_hook=usage_hook, decision_hook=decision_hook, **options)
        self._owns_client = http_client is None
        self._client = new_async_client() if http_client is None else http_client

    def _handle(self, core: CallCore, record: DecisionRecord | None) -> AsyncCall:
        """The async handle; the decision hook (plain or async) runs when the call starts."""
        hook = self._decision_hook
        log_decision = None
        if hook is not None and record is not None:

            async def log_decision() -> None:
                try:
                    outcome = hook(record)
                    if inspect.isawaitable(outcome):
                        await outcome
                except Exception as exc:
                    raise self._decision_failed(exc) from exc

        return AsyncCall(
            core,
            client=self._client,
            map_error=map_httpx_error,
            usage_hook=self._usage_hook,
            on_start=log_decision,
        )

    async def complete(self, request: Mapping[str, Any], **kwargs: Any) -> Completion:
        """Run a call to the end and return its `Completion` (raises its `CallError`)."""
        async with self.call(request, **kwargs) as call:
            return await call.result()

    async def aclose(self) -> None:
        """Close the connection pool (only a client the router created)."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> AsyncRouter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
