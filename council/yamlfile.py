"""YAML spec files (council files, scenarios) validated by pydantic, with errors that name lines.

A file is parsed with PyYAML's safe loader in two steps, compose then construct, so the data is
exactly what `yaml.safe_load` returns while the node tree keeps the line of every key and value.
A pydantic error's `loc` is then walked down that tree, and down the model's annotations in
step, to say "file:line: field: what was expected". Walking the annotations is what tells a
discriminated-union tag in a `loc` (`('faulty', 0, 'behaviours', 0, 'bloc-vote', 'vote')`) from
a key, and which keys a mapping allows when it has an unknown one.

Checks that span fields (or need a second file) report `Problem`s: a path relative to the model
being validated and a message. Inside a model validator they travel in one pydantic error of
type `spec_problems` (see `problems_error`), so each still lands on its own line.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NamedTuple, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Tag, ValidationError
from pydantic_core import PydanticCustomError

Loc = tuple[str | int, ...]
ModelT = TypeVar("ModelT", bound=BaseModel)

FILE_FIELD: Final = "(file)"
SYNTAX_FIELD: Final = "(syntax)"
TOP_FIELD: Final = "(top level)"
PROBLEMS_ERROR: Final = "spec_problems"
EXPECTED_ERROR: Final = "spec_expected"


class SpecModel(BaseModel):
    """Base of every model parsed from a user's file: immutable, and unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class SpecIssue(NamedTuple):
    """One error in a spec file."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class SpecError(ValueError):
    """A spec file is invalid; `str()` gives one `file:line: field: message` line per error."""

    errors: tuple[SpecIssue, ...]

    def __init__(self, file: str, line: int, field: str, message: str) -> None:
        self.errors = (SpecIssue(file, line, field, message),)
        super().__init__(str(self))

    @classmethod
    def collect(cls, issues: Iterable[SpecIssue]) -> SpecError:
        """One error listing all `issues` (at least one), sorted by line."""
        # Stable: issues on one line keep the order they were found in (the model's field order).
        ordered = sorted(dict.fromkeys(issues), key=lambda issue: (issue.file, issue.line))
        if not ordered:
            raise ValueError("a SpecError needs at least one issue")
        error = cls(*ordered[0])
        error.errors = tuple(ordered)
        error.args = (str(error),)
        return error

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.errors)


class Problem(NamedTuple):
    """A check that failed: where (relative to the model checked) and what was expected."""

    loc: Loc
    message: str


def problems_error(problems: Sequence[Problem]) -> PydanticCustomError:
    """The pydantic error a model validator raises to report `problems` at their own fields."""
    summary = "; ".join(f"{format_field(p.loc)}: {p.message}" for p in problems)
    return PydanticCustomError(
        PROBLEMS_ERROR, "{summary}", {"summary": summary, "problems": problems}
    )


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file: its data (as `yaml.safe_load` gives it) and its node tree."""

    file: str
    data: Any
    root: yaml.Node | None

    def issue(
        self, model: type[BaseModel], loc: Loc, message: str, *, tagged: int = 0
    ) -> SpecIssue:
        """An issue about the value at `loc`, a path in the data that `model` validates.

        The first `tagged` steps come from a pydantic error and may hold union tags.
        """
        place = _locate(model, self.root, loc, tagged)
        return SpecIssue(self.file, place.line, place.field, message)

    def error(self, model: type[BaseModel], problems: Iterable[Problem]) -> SpecError:
        """A SpecError locating every problem in this file."""
        return SpecError.collect(self.issue(model, p.loc, p.message) for p in problems)


def read_yaml(path: Path | str) -> YamlDocument:
    """Read and parse a YAML file; SpecError when it cannot be read or is not valid YAML."""
    file = str(path)
    try:
        content = Path(path).read_bytes()
    except OSError as error:
        raise SpecError(file, 0, FILE_FIELD, f"cannot read: {error.strerror or error}") from None
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        raise SpecError(file, line, FILE_FIELD, "not UTF-8 text") from None
    return parse_yaml(text, file)


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse YAML text (`file` names it in errors), rejecting duplicate keys."""
    try:
        loader = yaml.SafeLoader(text)  # checks every character before anything is parsed
    except yaml.reader.ReaderError as error:
        line = text[: error.position].count("\n") + 1
        message = f"invalid YAML: unacceptable character #x{error.character:04x} ({error.reason})"
        raise SpecError(file, line, SYNTAX_FIELD, message) from None
    try:
        root = loader.get_single_node()
        duplicates = list(_duplicate_keys(root, (), set()))
        if duplicates:
            raise SpecError.collect(SpecIssue(file, *found) for found in duplicates)
        data = None if root is None else loader.construct_document(root)
    except yaml.MarkedYAMLError as error:
        raise SpecError(file, *_syntax_issue(error)) from None
    except yaml.YAMLError as error:
        raise SpecError(file, 1, SYNTAX_FIELD, f"invalid YAML: {error}") from None
    finally:
        loader.dispose()
    return YamlDocument(file, data, root)


def validate_document(document: YamlDocument, model: type[ModelT]) -> ModelT:
    """Validate the document as `model`; SpecError lists every error with its line."""
    if document.data is None:
        expected = ", ".join(key for key, f in _model_fields(model).items() if f.is_required())
        raise SpecError(
            document.file, 1, TOP_FIELD, f"the file is empty; expected a mapping with {expected}"
        )
    try:
        return model.model_validate(document.data)
    except ValidationError as error:
        raise validation_spec_error(document, model, error) from None


def load_model(path: Path | str, model: type[ModelT]) -> tuple[ModelT, YamlDocument]:
    """Read, parse and validate a YAML spec file."""
    document = read_yaml(path)
    return validate_document(document, model), document


def validation_spec_error(
    document: YamlDocument, model: type[BaseModel], error: ValidationError
) -> SpecError:
    """Translate a pydantic ValidationError into a SpecError on `document`'s lines."""
    issues: list[SpecIssue] = []
    details = error.errors(include_url=False)
    failed_within = {tuple(d["loc"][:i]) for d in details for i in range(len(d["loc"]))}
    for detail in details:
        loc: Loc = tuple(detail["loc"])
        if detail["type"] == "too_short" and loc in failed_within:
            continue  # pydantic counts only the items that validated; theirs are the real errors
        if detail["type"] == PROBLEMS_ERROR:
            problems: Sequence[Problem] = detail["ctx"]["problems"]
            issues.extend(
                document.issue(model, loc + p.loc, p.message, tagged=len(loc)) for p in problems
            )
        else:
            issues.append(_issue_for(document, model, loc, detail))
    return SpecError.collect(issues)


def format_field(loc: Loc) -> str:
    """`('network', 'phases', 0, 'loss')` as `network.phases[0].loss`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or TOP_FIELD


def shown(value: object) -> str:
    """A value as the user wrote it in YAML, for "got ..." in messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return str(value)


# --- locating a loc in the node tree ------------------------------------------------------


@dataclass(frozen=True)
class _Place:
    field: str
    # The line of the last key on the path (of the item, for a list item); for a path that
    # goes missing, of the nearest enclosing one. A key's line, not its value's, because a
    # block value starts on the line after its key.
    line: int
    owner: Any  # the annotation holding the last step (a model class for model fields)
    annotation: Any  # the annotation of the value at loc, when known


def _locate(
    model: type[BaseModel], root: yaml.Node | None, loc: Loc, tagged: int | None = None
) -> _Place:
    """Where `loc` is; its first `tagged` steps (default: all) may be union tags."""
    tagged = len(loc) if tagged is None else tagged
    annotation: Any = model
    owner: Any = None
    node = root
    line = _line(root)
    path: list[str | int] = []
    for position, step in enumerate(loc):
        annotation = _unwrap(annotation)
        member = _union_member(annotation, step) if position < tagged else None
        if member is not None:
            annotation = member  # a union tag: the data has no level for it
            continue
        if _is_union(annotation):
            annotation = None  # a plain data path does not say which member it went into
        if step == "[key]":
            continue  # the error is about the key itself, whose line this already is
        owner = annotation
        annotation = _child_annotation(annotation, step)
        is_key = position + 1 < len(loc) and loc[position + 1] == "[key]"
        path.append(str(step) if is_key else step)  # a mapping key, even when YAML read a number
        key_node, child = _child_node(node, step)
        node = child
        if child is not None:
            line = _line(key_node if key_node is not None else child)
    return _Place(format_field(tuple(path)), line, owner, _unwrap(annotation))


def _line(node: yaml.Node | None) -> int:
    return 1 if node is None else node.start_mark.line + 1


def _child_node(
    node: yaml.Node | None, step: str | int
) -> tuple[yaml.Node | None, yaml.Node | None]:
    if isinstance(node, yaml.MappingNode):
        for key, value in reversed(node.value):  # yaml keeps the last of duplicate keys
            if isinstance(key, yaml.ScalarNode) and key.value == str(step):
                return key, value
    if (
        isinstance(node, yaml.SequenceNode)
        and isinstance(step, int)
        and 0 <= step < len(node.value)
    ):
        return None, node.value[step]
    return None, None


def _unwrap(annotation: Any) -> Any:
    """Strip `Annotated[...]` and `| None`; a union of several types stays a union."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif _is_union(annotation):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def union_tags(annotation: Any, *, type_names: bool = True) -> dict[str, Any]:
    """The tags of a union's members: Tag metadata, a `kind` literal, and (with `type_names`)
    the member type's name, as pydantic puts in a `loc` for a plain union."""
    union = _unwrap(annotation)
    tags: dict[str, Any] = {}
    for member in typing.get_args(union) if _is_union(union) else ():
        inner = _unwrap(member)
        names: list[str] = []
        if typing.get_origin(member) is typing.Annotated:
            names += [m.tag for m in member.__metadata__ if isinstance(m, Tag)]
        if (
            isinstance(inner, type)
            and issubclass(inner, BaseModel)
            and "kind" in inner.model_fields
        ):
            names += [str(v) for v in typing.get_args(inner.model_fields["kind"].annotation)]
        if type_names:
            names.append(getattr(inner, "__name__", str(inner)))
        for name in names:
            tags.setdefault(name, inner)
    return tags


def _model_fields(annotation: Any) -> dict[str, Any]:
    """A model's fields by the key a file uses for them (the alias, when there is one)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {f.alias or name: f for name, f in annotation.model_fields.items()}
    return {}


def _union_member(annotation: Any, step: str | int) -> Any:
    if not _is_union(annotation) or not isinstance(step, str):
        return None
    return union_tags(annotation).get(step)


def _child_annotation(annotation: Any, step: str | int) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = _model_fields(annotation).get(str(step))
        return None if field is None else field.annotation
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is dict and len(arguments) == 2:
        return arguments[1]
    if origin in (list, tuple) and arguments and isinstance(step, int):
        if origin is tuple and not (len(arguments) == 2 and arguments[1] is Ellipsis):
            return arguments[step] if step < len(arguments) else None
        return arguments[0]
    return None


def _duplicate_keys(
    node: yaml.Node | None, loc: Loc, seen: set[int]
) -> Iterable[tuple[int, str, str]]:
    if node is None or id(node) in seen:
        return
    seen.add(id(node))  # aliases share nodes; a recursive alias must not loop
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*loc, index), seen)
    elif isinstance(node, yaml.MappingNode):
        yield from _repeated_keys(node, loc)
        for key, value in node.value:
            step = key.value if isinstance(key, yaml.ScalarNode) else "?"
            yield from _duplicate_keys(value, (*loc, step), seen)


def _repeated_keys(node: yaml.MappingNode, loc: Loc) -> Iterable[tuple[int, str, str]]:
    first: dict[tuple[str, str], int] = {}
    for key, _value in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.value == "<<":
            continue
        identity = (key.tag, key.value)
        if identity in first:
            yield (
                _line(key),
                format_field((*loc, key.value)),
                f"duplicate key {key.value!r} (first given on line {first[identity]})",
            )
        else:
            first[identity] = _line(key)


def _syntax_issue(error: yaml.MarkedYAMLError) -> tuple[int, str, str]:
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark is not None else 1
    message = f"invalid YAML: {error.problem or error.context or 'cannot parse'}"
    if error.problem and error.context:
        where = f" at line {error.context_mark.line + 1}" if error.context_mark else ""
        message += f" ({error.context}{where})"
    return line, SYNTAX_FIELD, message


# --- messages -----------------------------------------------------------------------------

_TYPE_EXPECTED: Final = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _issue_for(document: YamlDocument, model: type[BaseModel], loc: Loc, detail: Any) -> SpecIssue:
    kind: str = detail["type"]
    ctx: dict[str, Any] = detail.get("ctx") or {}
    place = _locate(model, document.root, loc)
    if kind == "extra_forbidden":
        allowed = list(_model_fields(place.owner))
        message = f"unknown key {loc[-1]!r}" + (
            f"; expected one of: {', '.join(allowed)}" if allowed else ""
        )
        return SpecIssue(document.file, place.line, place.field, message)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        discriminator = str(ctx.get("discriminator", "kind")).strip("'")
        tagged = _locate(model, document.root, (*loc, discriminator))
        expected = ", ".join(union_tags(place.annotation, type_names=False))
        if kind == "union_tag_invalid":
            message = f"unknown {discriminator} {ctx.get('tag')!r}; expected one of: {expected}"
        else:
            message = f"required, but missing; expected one of: {expected}"
        return SpecIssue(document.file, tagged.line, tagged.field, message)
    return SpecIssue(document.file, place.line, place.field, _message(kind, ctx, detail))


def _message(kind: str, ctx: dict[str, Any], detail: Any) -> str:
    got = shown(detail.get("input"))
    if kind == "missing":
        return "required, but missing"
    if kind in _TYPE_EXPECTED:
        return f"expected {_TYPE_EXPECTED[kind]}, got {got}"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", ""))) or [ctx.get("expected")]
        return f"expected one of: {', '.join(str(c) for c in choices)}, got {got}"
    bounds = {
        "greater_than": ("greater than", "gt"),
        "greater_than_equal": ("at least", "ge"),
        "less_than": ("less than", "lt"),
        "less_than_equal": ("at most", "le"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        return f"expected a value {words} {ctx.get(key)}, got {got}"
    if kind == "string_too_short":
        return f"expected a non-empty string, got {got}"
    if kind == "too_short":
        return f"expected at least {ctx.get('min_length')} item(s), got {ctx.get('actual_length')}"
    if kind == "too_long":
        return f"expected at most {ctx.get('max_length')} item(s), got {ctx.get('actual_length')}"
    if kind == EXPECTED_ERROR:
        return f"{detail['msg']}, got {got}"
    message = str(detail["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message
