"""How the pages offer an operation, where its declaration alone does not say it.

A form is drawn from the operation's parameter model: each field's type, title (the label), description,
constraints and Literal choices. Two optional hints complete it:

- `Widget`, beside a parameter (`snapname: Annotated[str, Widget(choices="snapshots")] = Field(...)`): where a
  select's options come from, a control other than the type's, a placeholder, a note. Pydantic keeps it in the
  field's metadata and leaves it out of the JSON schema, so the API and the agents never see it.
- `Form`, in the operation's declaration: a one-click button among the power actions, the texts around the
  form, or no form at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from app.operations.guest import Guest

Options = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Widget:
    """How a page asks for one parameter, beyond what its type and constraints say."""

    # The label when it depends on the guest (the field's title otherwise).
    label: Callable[[Guest | None], str] | None = None
    # A control other than the type's: a select of `choices`, a hidden field, a password, several lines.
    control: Literal["select", "hidden", "password", "textarea"] | None = None
    # The list of options the page offers by this name: snapshots, disks, backups, backup-storages, nodes, ...
    choices: str | None = None
    # Fixed (value, text) pairs in the order shown: a Literal's or a yes/no's words (a function of the guest
    # when they depend on it).
    options: Options | Callable[[Guest | None], Options] = ()
    # An empty first option, which leaves the parameter to its default; its text.
    blank: str | Callable[[Guest | None], str] | None = None
    placeholder: str = ""
    # Typed exactly as written (addresses, names): no autocompletion, no spell check.
    verbatim: bool = False
    # The legend of the fieldset it shares with the next fields of the same group.
    group: str | None = None
    # A line under the field; and what is said in its place when `choices` offers nothing.
    note: str = ""
    empty: str = ""
    # Asked only for guests that pass (None: always).
    only: Callable[[Guest], bool] | None = None
    # False: the API takes it, the pages leave it out.
    asked: bool = True
    # A confirmation (a checkbox): the pages ask for it only once a refusal names it, and while it is ticked.
    confirmation: bool = False


@dataclass(frozen=True)
class Form:
    """How the guest page offers an operation: a one-click button, a form of its parameters, or both."""

    # The class of its one-click button among the power actions ('primary', 'danger', '' plain); None: none.
    button: str | None = None
    # A form of its parameters (and of the reason, when it needs approval).
    fields: bool = True
    # A cluster-wide operation offered on the guest page too (it acts on something of the guest's).
    on_guest_page: bool = False
    # The form's title and its submit button (the label when empty); "{guest.vmid}" and the like are filled in.
    summary: str = ""
    submit: str = ""
    # Said before its fields, and after them.
    warning: str = ""
    note: str = ""


def widget_of(metadata: list[Any]) -> Widget:
    """The Widget among a field's metadata, or the default one."""
    return next((m for m in metadata if isinstance(m, Widget)), Widget())
