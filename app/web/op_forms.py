"""Forms drawn from the catalogue: an operation's parameter model (types, titles, descriptions, constraints,
Literal choices) and its hints (app/operations/forms.py) become the fields that partials/shared/_fields.html
renders, with what was typed and each field's problem after a refusal.

A page gives the lists its selects offer by name (`options`): the guest's snapshots, the node's storages, ...
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from pydantic_core import PydanticUndefined

from app.operations.base import Guest, Operation, Params
from app.operations.forms import Widget, widget_of


@dataclass(frozen=True)
class Option:
    """One choice of a select."""

    value: str
    text: str
    disabled: bool = False


# What a page may give as a list of options: values, (value, text) pairs, or Options.
OptionList = Iterable[str | tuple[str, str] | Option]


@dataclass
class FieldView:
    """One field as the page draws it."""

    name: str
    label: str
    # text, number, password, textarea, select, checkbox, hidden; 'empty' is a note in place of a select
    # that has nothing to offer.
    control: str
    id: str
    value: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)
    options: list[Option] = field(default_factory=list)
    note: str = ""
    group: str | None = None
    error: str = ""
    error_id: str = ""

    @property
    def checked(self) -> bool:
        """A checkbox's state."""
        return self.value == "true"


@dataclass
class OperationForm:
    """An operation's form: its DOM id, its fields, each field's problem ('' for the form as a whole), and
    what is said instead when a required choice has nothing to offer."""

    op: Operation
    id: str
    fields: list[FieldView] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    empty: str = ""

    def get(self, name: str) -> FieldView | None:
        """The field of this parameter, if the form asks for it."""
        return next((f for f in self.fields if f.name == name), None)

    def groups(self) -> list[tuple[str | None, list[FieldView]]]:
        """The fields in order, neighbours of the same group (a fieldset) together."""
        return [(group, list(items)) for group, items in groupby(self.fields, key=lambda f: f.group)]


def operation_form(
    op: Operation,
    form_id: str,
    *,
    guest: Guest | None = None,
    options: Mapping[str, OptionList] | None = None,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    prefix: str | None = None,
    only: Sequence[str] | None = None,
    hidden: Collection[str] = (),
) -> OperationForm | None:
    """The form of an operation's parameters, or None when a required choice has nothing to offer and its
    widget says nothing about it. `only` picks and orders the fields, `hidden` sends these as they are;
    field ids start with `prefix` (the form's id by default)."""
    schema = schema_of(op.params)
    form = OperationForm(op, form_id, errors=dict(errors or {}))
    for name in only if only is not None else list(op.params.model_fields):
        widget = widget_of(op.params.model_fields[name].metadata)
        if only is None and (not widget.asked or (widget.only and (guest is None or not widget.only(guest)))):
            continue
        if widget.confirmation and not (name in form.errors or text_of((values or {}).get(name)) == "true"):
            continue
        prop = plain(schema["properties"][name], schema.get("$defs") or {})
        required = name in (schema.get("required") or ())
        control = "hidden" if name in hidden else control_of(prop, widget)
        label = widget.label(guest) if widget.label else str(prop.get("title") or name)
        view = FieldView(name, label, control, f"{prefix or form_id}-{name}")
        view.note, view.group, view.error_id = widget.note, widget.group, f"{form_id}-{name}-error"
        view.error, view.value = form.errors.get(name, ""), value_of(op, name, values, control)
        view.attrs = attributes(control, prop, widget, required)
        if view.error and not any(f.error for f in form.fields):
            # The first field with a problem takes the focus when the refused form is swapped in.
            view.attrs["autofocus"] = True
        if control == "select":
            view.options = choices(name, prop, widget, guest, options or {})
        if control != "select" or view.options:
            form.fields.append(view)
        elif required and not widget.empty:
            return None
        elif required:
            form.empty = form.empty or widget.empty.format(guest=guest)
        elif widget.empty:
            view.control, view.note = "empty", widget.empty.format(guest=guest)
            form.fields.append(view)
    return form


@functools.cache
def schema_of(params: type[Params]) -> dict[str, Any]:
    """The parameters' JSON schema, made once per model (every guest page view draws its forms)."""
    return params.model_json_schema()


def control_of(prop: dict[str, Any], widget: Widget) -> str:
    """The control a parameter gets: the widget's, else by its type (a yes/no that is yes by default is a
    select: an unticked checkbox sends nothing, and the default would win)."""
    kind = prop.get("type")
    if widget.control:
        return widget.control
    if widget.choices or "enum" in prop or (kind == "boolean" and prop.get("default") is True):
        return "select"
    if kind == "boolean":
        return "checkbox"
    return "number" if kind in ("integer", "number") else "text"


def value_of(op: Operation, name: str, values: Mapping[str, Any] | None, control: str) -> str:
    """What the field holds: what was typed, else the default (a default factory is called: a fresh
    snapshot name); a password is never sent back."""
    if control == "password":
        return ""
    if values is not None and name in values:
        return text_of(values[name])
    return text_of(op.params.model_fields[name].get_default(call_default_factory=True))


def choices(
    name: str, prop: dict[str, Any], widget: Widget, guest: Guest | None, pages: Mapping[str, OptionList]
) -> list[Option]:
    """A select's options: the page's list, the Literal's values, or the widget's own; the blank one first."""
    given = widget.options(guest) if callable(widget.options) else widget.options
    if widget.choices:
        if widget.choices not in pages:
            raise LookupError(f"The page offers no '{widget.choices}' for the parameter '{name}'.")
        found = [option(o) for o in pages[widget.choices]]
    elif "enum" in prop:
        words = dict(given)
        found = [Option(text_of(v), words.get(text_of(v), text_of(v))) for v in prop["enum"]]
    else:
        found = [option(o) for o in given] or [Option("true", "yes"), Option("false", "no")]
    blank = widget.blank(guest) if callable(widget.blank) else widget.blank
    return [Option("", blank), *found] if blank is not None else found


def attributes(control: str, prop: dict[str, Any], widget: Widget, required: bool) -> dict[str, Any]:
    """The HTML attributes that say what the field takes (the browser checks them before sending)."""
    attrs: dict[str, Any] = {}
    if required and control not in ("checkbox", "hidden", "empty"):
        attrs["required"] = True
    if control in ("text", "password", "textarea"):
        attrs.update(maxlength=prop.get("maxLength"), minlength=prop.get("minLength"))
    if control == "text":
        attrs["pattern"] = prop.get("pattern")
    if control == "number":
        attrs.update(min=prop.get("minimum"), max=prop.get("maximum"))
    if control in ("text", "number", "textarea"):
        attrs.update(placeholder=widget.placeholder or None, title=prop.get("description"))
    if widget.verbatim:
        attrs.update(autocomplete="off", spellcheck="false")
    if control == "password":
        attrs["autocomplete"] = "new-password"
    return {k: v for k, v in attrs.items() if v is not None}


def plain(prop: dict[str, Any], defs: Mapping[str, Any]) -> dict[str, Any]:
    """A property's schema without its indirections: `$ref` followed, `anyOf [X, null]` as X."""
    if "$ref" in prop:
        prop = {**defs[prop["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in prop.items() if k != "$ref"}}
    variants = [v for v in prop.get("anyOf") or () if v.get("type") != "null"]
    if len(variants) == 1:
        prop = {**plain(variants[0], defs), **{k: v for k, v in prop.items() if k != "anyOf"}}
    return prop


def option(value: str | tuple[str, str] | Option) -> Option:
    """An Option from what a page gives."""
    if isinstance(value, Option):
        return value
    return Option(value, value) if isinstance(value, str) else Option(*value)


def text_of(value: Any) -> str:
    """A value as a form field holds it: true/false for booleans, '' for none."""
    if value is None or value is PydanticUndefined:
        return ""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)
