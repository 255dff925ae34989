"""app/agents/answers.py: a listing that would not fit a context is asked again for fewer items; lists cut."""

from __future__ import annotations

from typing import Any

from app.agents.answers import BUDGET, cap, fitted, page_summary, size

ITEM = {"text": "x" * 990}


def api_page(asked: list[int]) -> Any:
    """A listing of 500 items of about 1,000 characters; records each limit it is asked for."""

    async def fetch(count: int) -> dict[str, Any]:
        asked.append(count)
        return {"items": [ITEM] * count, "total": 500, "next_cursor": f"after-{count}"}

    return fetch


async def test_a_page_too_big_for_a_context_is_asked_again_smaller() -> None:
    asked: list[int] = []
    page = await fitted(api_page(asked), None, 50)
    assert asked[0] == 50 and len(asked) >= 2 and size(page) <= BUDGET
    assert page["next_cursor"] == f"after-{len(page['items'])}", "the API's cursor of the smaller page"
    chosen: list[int] = []
    assert len((await fitted(api_page(chosen), 50, 20))["items"]) == 50 and chosen == [50]


def test_long_lists_are_cut_and_say_how_long_they_were() -> None:
    task = {"log": [f"line {n}" for n in range(300)]}
    assert cap(task, "log", 2, newest_last=True) == {"log": ["line 298", "line 299"], "log_total": 300}
    assert cap({"tasks": [1, 2]}, "tasks", 5) == {"tasks": [1, 2]}


def test_a_page_summary_says_how_to_get_the_next_page() -> None:
    text = page_summary("list_guests", "guests", {"items": [{}] * 2, "total": 9, "next_cursor": "abc"})
    assert text == '2 of 9 guests. Next page: call list_guests with the same arguments and cursor="abc".'
