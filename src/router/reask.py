"""Re-ask: give an invalid answer back to the model with its validation errors, and ask again.

Pure (no I/O): `reask_request` builds the next request body from the one that was sent, the
answer that came back and the `ValidationFailed` it raised. The caller's body is never
mutated: the result is a new dict whose `messages` is a new list.

The model sees its own answer as the assistant's turn, then what is wrong with it, one line
per issue with its JSON path. A tool call's issues go back in a `tool` message answering
that call (Chat Completions wants every tool call answered before the next user turn);
issues of the content go in a `user` message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from router.completion import Completion
from router.errors import ValidationFailed, ValidationIssue

__all__ = ["MAX_ISSUES", "can_reask", "feedback", "reask_request"]

#: At most this many issues are quoted back (a hostile answer can have thousands).
MAX_ISSUES: Final = 50
#: An issue's message is cut to this many characters (it may quote a long value).
MAX_ISSUE_CHARS: Final = 300

_CLOSING: Final = "Answer again, in full, with every error fixed."


def can_reask(error: ValidationFailed, completion: Completion | None) -> bool:
    """Whether another answer could fix `error`: an invalid single answer, not a cut-off one.

    A truncated (`IncompleteAnswer`: `length`, `content_filter`) answer would be cut off
    again and a refusal (`AnswerRefused`) refused again; with several choices (`n` > 1)
    there is no one answer to give back.
    """
    return (
        type(error) is ValidationFailed
        and completion is not None
        and len(completion.choices) == 1
        and bool(error.issues)
    )


def feedback(issues: Sequence[ValidationIssue]) -> str:
    """The message that tells the model what is wrong: one line per issue, path first."""
    lines = ["Your previous answer is invalid:"]
    for issue in issues[:MAX_ISSUES]:
        message = issue.message
        if len(message) > MAX_ISSUE_CHARS:
            message = message[: MAX_ISSUE_CHARS - 3] + "..."
        lines.append(f"- {issue.path}: {message}")
    if len(issues) > MAX_ISSUES:
        lines.append(f"- ... and {len(issues) - MAX_ISSUES} more")
    lines.append(_CLOSING)
    return "\n".join(lines)


def reask_request(
    request: Mapping[str, Any], completion: Completion, error: ValidationFailed
) -> dict[str, Any]:
    """A new request body: `request`'s messages, the invalid answer, then its errors."""
    message = completion.choices[0].message
    messages: list[Any] = list(request.get("messages") or ())
    assistant: dict[str, Any] = {"role": "assistant", "content": message.content}
    content_issues = [issue for issue in error.issues if issue.tool_call is None]
    calls = message.tool_calls
    if calls and all(call.id for call in calls):
        assistant["tool_calls"] = [call.to_dict() for call in calls]
        messages.append(assistant)
        for index, call in enumerate(calls):
            own = [issue for issue in error.issues if issue.tool_call == index]
            content = feedback(own) if own else "This call is valid."
            messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
        if content_issues:
            messages.append({"role": "user", "content": feedback(content_issues)})
    else:
        if calls:  # calls without ids cannot be answered one by one: quote them as text
            assistant["content"] = "\n".join(
                f"{call.function.name}({call.function.arguments})" for call in calls
            )
        messages.append(assistant)
        messages.append({"role": "user", "content": feedback(error.issues)})
    return {**request, "messages": messages}
