"""The OpenAI Chat Completions wire format, byte for byte: chunks, SSE framing, whole answers.

`ChunkFactory` builds `chat.completion.chunk` objects for one completion (same id, created
and fingerprint on every chunk, as OpenAI sends them); `sse()` frames one payload as
`data: ...\\n\\n`; `completion_body()` is the pretty-printed `chat.completion` JSON OpenAI
returns for a non-streaming request; `error_body()` the `{"error": {...}}` shape.
"""

from __future__ import annotations

import json
import random
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

from router.testing.scripts import ChoiceSpec

__all__ = [
    "DONE",
    "ChunkFactory",
    "completion_body",
    "completion_id",
    "default_usage",
    "dumps",
    "error_body",
    "is_progress",
    "models_body",
    "progress_deltas",
    "sse",
    "tool_call_id",
]

#: The stream's terminating line.
DONE = b"data: [DONE]\n\n"

SYSTEM_FINGERPRINT = "fp_5f20662549"

_SAFE: Mapping[str, Any] = {"filtered": False, "severity": "safe"}
_FILTER_RESULTS: Mapping[str, Any] = {
    "hate": _SAFE,
    "self_harm": _SAFE,
    "sexual": _SAFE,
    "violence": _SAFE,
}


# Built once: `json.dumps` with options builds a new encoder on every call.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_COMPACT_SORTED = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def dumps(obj: Any, *, sort_keys: bool = False) -> str:
    """Compact JSON as OpenAI streams it (no spaces, UTF-8 kept as is)."""
    return (_COMPACT_SORTED if sort_keys else _COMPACT).encode(obj)


def sse(payload: Mapping[str, Any] | str, *, sort_keys: bool = False) -> bytes:
    """One SSE event carrying `payload` on a single `data:` line."""
    text = payload if isinstance(payload, str) else dumps(payload, sort_keys=sort_keys)
    return f"data: {text}\n\n".encode()


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#: Padding needs no secrecy, only variety: a plain generator is 10x faster than `secrets`.
_PADDING = random.Random()


def completion_id() -> str:
    """A fresh id in OpenAI's `chatcmpl-` form (29 characters after the prefix)."""
    return "chatcmpl-" + "".join(secrets.choice(_ALPHABET) for _ in range(29))


def tool_call_id() -> str:
    """A fresh tool-call id in OpenAI's `call_` form (24 characters after the prefix)."""
    return "call_" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


def is_progress(delta: Mapping[str, Any]) -> bool:
    """True when a delta carries something for the caller (DESIGN's "progress").

    For the deltas `ChunkFactory` writes (content, refusal, `reasoning_content`, tool calls):
    the assembler's wider reading (`reasoning`, legacy `function_call`) has nothing more to
    find in them.
    """
    return bool(
        delta.get("content")
        or delta.get("refusal")
        or delta.get("reasoning_content")
        or delta.get("tool_calls")
    )


def progress_deltas(spec: ChoiceSpec) -> int:
    """How many of `ChunkFactory.choice_deltas(spec)` are progress: what a stream paces.

    Every non-empty reasoning, content and refusal piece; per tool call, its opening and one
    fragment per `chunk_chars` of arguments.
    """
    pieces = sum(1 for piece in (*spec.reasoning, *spec.content, *spec.refusal) if piece)
    size = max(spec.chunk_chars, 1)
    return pieces + sum(1 + -(-len(call.arguments) // size) for call in spec.tool_calls)


def _tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4) if text else 0


def default_usage(request_body: Any, choices: Sequence[ChoiceSpec]) -> dict[str, Any]:
    """Plausible token counts: about 4 characters per prompt token, one token per delta."""
    messages = request_body.get("messages") if isinstance(request_body, dict) else None
    prompt = _tokens(json.dumps(messages)) if messages else 0
    reasoning = sum(len(choice.reasoning) for choice in choices)
    completion = reasoning + sum(
        len(choice.content)
        + len(choice.refusal)
        + sum(_tokens(call.name + call.arguments) for call in choice.tool_calls)
        for choice in choices
    )
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def error_body(
    message: str, *, error_type: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """OpenAI's error object."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def models_body(models: Sequence[str]) -> dict[str, Any]:
    """The `GET /v1/models` list."""
    return {
        "object": "list",
        "data": [
            {"id": name, "object": "model", "created": 1715367049, "owned_by": "system"}
            for name in models
        ],
    }


class ChunkFactory:
    """Builds the chunks of one streamed completion, all sharing id, created and model.

    With `include_usage` every chunk carries `"usage": null` and `usage_chunk()` gives the
    final usage-only chunk with empty `choices`, as OpenAI does. With `obfuscation` (OpenAI's
    default, turned off by `stream_options.include_obfuscation: false`) every chunk ends with
    random padding. With `azure` the chunks carry content filter results and Azure's
    alphabetical key order, and no padding.
    """

    def __init__(
        self,
        *,
        model: str,
        include_usage: bool = False,
        azure: bool = False,
        tool_call_index: bool = True,
        obfuscation: bool = True,
    ) -> None:
        self.id = completion_id()
        self.created = int(time.time())
        self.model = model
        self.include_usage = include_usage
        self.azure = azure
        self.tool_call_index = tool_call_index
        self.obfuscation = obfuscation and not azure

    def _envelope(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "service_tier": "default",
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": choices,
        }
        if self.azure:
            del chunk["service_tier"]
        if self.include_usage:
            chunk["usage"] = None
        if self.obfuscation:
            # OpenAI pads each chunk with random characters so that sizes do not leak tokens.
            size = _PADDING.randint(1, 12)
            chunk["obfuscation"] = "".join(_PADDING.choices(_ALPHABET, k=size))
        return chunk

    def encode(self, chunk: Mapping[str, Any]) -> bytes:
        """One chunk framed as an SSE event."""
        return sse(chunk, sort_keys=self.azure)

    def delta(
        self, index: int, delta: Mapping[str, Any], finish_reason: str | None = None
    ) -> dict[str, Any]:
        """A chunk carrying one delta for choice `index`."""
        choice: dict[str, Any] = {
            "index": index,
            "delta": dict(delta),
            "logprobs": None,
            "finish_reason": finish_reason,
        }
        if self.azure and finish_reason is None:
            choice["content_filter_results"] = dict(_FILTER_RESULTS) if delta else {}
        return self._envelope([choice])

    def usage_chunk(self, usage: Mapping[str, Any]) -> dict[str, Any]:
        """The final chunk of a stream that asked for usage: empty choices, the usage."""
        chunk = self._envelope([])
        chunk["usage"] = dict(usage)
        return chunk

    def prompt_filter_chunk(self) -> dict[str, Any]:
        """Azure's first chunk: no id, no model, empty choices, the prompt's filter results."""
        return {
            "choices": [],
            "created": 0,
            "id": "",
            "model": "",
            "object": "",
            "prompt_filter_results": [
                {"prompt_index": 0, "content_filter_results": dict(_FILTER_RESULTS)}
            ],
        }

    def filter_offsets_chunk(self, index: int, offset: int) -> dict[str, Any]:
        """Azure's trailing annotation chunk for choice `index`: filter results, no delta."""
        return {
            "choices": [
                {
                    "content_filter_offsets": {
                        "check_offset": 0,
                        "start_offset": 0,
                        "end_offset": offset,
                    },
                    "content_filter_results": dict(_FILTER_RESULTS),
                    "finish_reason": None,
                    "index": index,
                }
            ],
            "created": 0,
            "id": "",
            "model": "",
            "object": "",
        }

    # --- the deltas of one choice ---------------------------------------------------------

    def choice_deltas(self, index: int, spec: ChoiceSpec) -> list[dict[str, Any]]:
        """Every chunk of one choice, in order: role, reasoning, content/refusal/tools, finish.

        As OpenAI does, a choice that only calls tools opens with its first tool call in the
        role chunk: `{"role": "assistant", "content": null, "tool_calls": [...], "refusal": null}`.
        """
        chunks: list[dict[str, Any]] = []
        opening_content = None if spec.message_content is None else ""
        first: dict[str, Any] = {"role": "assistant", "content": opening_content}
        opens_with_tool_call = bool(spec.tool_calls) and not (
            spec.content or spec.reasoning or spec.refusal
        )
        if opens_with_tool_call:
            first["tool_calls"] = []  # filled by the first opening below
        first["refusal"] = "" if spec.refusal else None
        chunks.append(self.delta(index, first))
        for piece in spec.reasoning:
            chunks.append(self.delta(index, {"content": None, "reasoning_content": piece}))
        for piece in spec.content:
            chunks.append(self.delta(index, {"content": piece}))
        for piece in spec.refusal:
            chunks.append(self.delta(index, {"refusal": piece}))
        for position, call in enumerate(spec.tool_calls):
            opening: dict[str, Any] = {
                "id": call.id or tool_call_id(),
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            if position == 0 and opens_with_tool_call:
                first["tool_calls"].append(self._indexed(position, opening))
                chunks[0] = self.delta(index, first)
            else:
                chunks.append(self.delta(index, {"tool_calls": [self._indexed(position, opening)]}))
            size = max(spec.chunk_chars, 1)
            for start in range(0, len(call.arguments), size):
                fragment = {"function": {"arguments": call.arguments[start : start + size]}}
                chunks.append(
                    self.delta(index, {"tool_calls": [self._indexed(position, fragment)]})
                )
        chunks.append(self.delta(index, {}, spec.resolved_finish_reason))
        return chunks

    def _indexed(self, position: int, entry: dict[str, Any]) -> dict[str, Any]:
        return {"index": position, **entry} if self.tool_call_index else entry


def completion_body(
    *,
    model: str,
    choices: Sequence[ChoiceSpec],
    usage: Mapping[str, Any],
) -> dict[str, Any]:
    """The `chat.completion` object of a non-streaming answer."""
    identity = completion_id()
    out_choices = []
    for index, spec in enumerate(choices):
        message: dict[str, Any] = {
            "role": "assistant",
            "content": spec.message_content,
            "refusal": "".join(spec.refusal) if spec.refusal else None,
            "annotations": [],
        }
        if spec.reasoning:
            message["reasoning_content"] = "".join(spec.reasoning)
        if spec.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id or tool_call_id(),
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in spec.tool_calls
            ]
        out_choices.append(
            {
                "index": index,
                "message": message,
                "logprobs": None,
                "finish_reason": spec.resolved_finish_reason,
            }
        )
    return {
        "id": identity,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": out_choices,
        "usage": dict(usage),
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
