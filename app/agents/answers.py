"""What a tool answers: its result once, as structured content bounded to fit a model's context, and one
line of text that says what came back and how to get more."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

# Characters of compact JSON that a listing answers at most unless the caller chose its `limit`: with the
# line of text and the protocol's envelope, an answer stays under 20,000 characters.
BUDGET = 16_000
# Tries at a smaller page before a too large one is answered as it is.
REFITS = 3
Page = dict[str, Any]


def size(value: Any) -> int:
    """How many characters the value takes as compact JSON."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str))


async def fitted(fetch: Callable[[int], Awaitable[Page]], limit: int | None, default: int) -> Page:
    """The page `limit` asks for; without one, `default` items or, when they are too big, as many as fit
    BUDGET (the cursor of the smaller page is the API's own, so the next page starts where this one ends)."""
    answer = await fetch(limit or default)
    if limit is not None:
        return answer
    for _ in range(REFITS):
        items, used = answer.get("items") or [], size(answer)
        if used <= BUDGET or len(items) <= 1:
            break
        answer = await fetch(max(1, min(len(items) - 1, len(items) * BUDGET // used)))
    return answer


def cap(answer: dict[str, Any], key: str, most: int, newest_last: bool = False) -> dict[str, Any]:
    """answer[key] cut to `most` items (the last ones when newest_last), with `<key>_total` when cut."""
    values = answer.get(key)
    if isinstance(values, list) and len(values) > most:
        answer[key] = values[-most:] if newest_last else values[:most]
        answer[f"{key}_total"] = len(values)
    return answer


def page_summary(tool: str, noun: str, answer: Page) -> str:
    """'50 of 2000 guests.' and how to get the next page."""
    items = answer.get("items") or []
    text = f"{len(items)} of {answer.get('total', len(items))} {noun}."
    if answer.get("notes_total"):
        text += f" {len(answer.get('notes') or [])} of {answer['notes_total']} notes."
    if answer.get("next_cursor"):
        text += f' Next page: call {tool} with the same arguments and cursor="{answer["next_cursor"]}".'
    return text


def change_summary(result: dict[str, Any]) -> str:
    """What a change or a wait came to, in a line or a few (a failure's exit status and last log lines)."""
    status = result.get("status")
    parts = [f"{status}: {result.get('description') or ''}".rstrip(": ")]
    if result.get("message"):
        parts.append(str(result["message"]))
    task = result.get("task") or {}
    if task.get("exitstatus"):
        parts.append(f"Exit status: {task['exitstatus']}.")
    request = result.get("request") or {}
    if request.get("result"):
        parts.append(f"Result: {json.dumps(request['result'], ensure_ascii=False)}.")
    if status == "failed":
        parts += [str(line) for line in (task.get("log_tail") or [])[-5:]]
    return "\n".join(parts)


def fallback_summary(result: Any) -> str:
    """For an answer no tool summarised: where it is."""
    keys = ", ".join(list(result)[:8]) if isinstance(result, dict) else type(result).__name__
    return f"Answered in the structured content ({keys})."
