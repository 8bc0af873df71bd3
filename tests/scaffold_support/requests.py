"""Every request type of the installed ChatKit SDK, with bodies built from its own schema at run time.

The types are the members of the union `chatkit.types.ChatKitReq`: a request type added by a new SDK release is
enumerated (and so tested) without anyone listing it here. A body is built from the JSON schema of the type's
`params`: a field named in `values` takes that value (a real thread id, an uploaded attachment), any other required
field an example of its schema type. Every body is validated by the SDK itself before a test sends it.
"""

from __future__ import annotations

import typing
import warnings
from collections.abc import Iterator
from typing import Any

from chatkit.types import ChatKitReq, is_streaming_req
from pydantic import BaseModel, TypeAdapter

CHATKIT_REQUEST: TypeAdapter[Any] = TypeAdapter(ChatKitReq)
Path = tuple[str | int, ...]


def request_types() -> dict[str, type[BaseModel]]:
    """Request type name (`threads.create`, ...) -> its pydantic model, from the SDK's request union."""
    union = typing.get_args(ChatKitReq)[0]
    return {model.model_fields["type"].default: model for model in typing.get_args(union)}


def body_for(request_type: str, values: dict[str, Any]) -> dict[str, Any]:
    """A body the SDK accepts for `request_type`, taking the fields named in `values` from there."""
    with warnings.catch_warnings():  # generic defaults (`~TType`) have no JSON form; the schema is complete without
        warnings.simplefilter("ignore")
        schema = request_types()[request_type].model_json_schema()
    definitions = schema.get("$defs", {})
    body = {"type": request_type, "params": _example(schema["properties"]["params"], definitions, "params", values)}
    CHATKIT_REQUEST.validate_python(body)  # a generator bug must fail here, not look like a server refusal
    return body


def is_streaming(body: dict[str, Any]) -> bool:
    return is_streaming_req(CHATKIT_REQUEST.validate_python(body))


def leaf_paths(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every scalar in a body with its path, except the request `type` and the content parts' `type` tags."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key != "type" or isinstance(item, dict):
                yield from leaf_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaf_paths(item, (*path, index))
    else:
        yield path, value


def replaced(body: dict[str, Any], path: Path, new: Any) -> dict[str, Any]:
    """A copy of `body` with the value at `path` replaced."""
    if not path:
        return new
    head, *rest = path
    if isinstance(body, list):
        copy_list = list(body)
        copy_list[head] = replaced(body[head], tuple(rest), new)  # type: ignore[index]
        return copy_list  # type: ignore[return-value]
    return {**body, head: replaced(body[head], tuple(rest), new)}


def _resolve(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = definitions[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _example(schema: dict[str, Any], definitions: dict[str, Any], field: str, values: dict[str, Any]) -> Any:
    if field in values:
        return values[field]
    schema = _resolve(schema, definitions)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [option for option in schema[key] if _resolve(option, definitions).get("type") != "null"]
            return _example(options[0], definitions, field, values)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        return {
            name: _example(sub, definitions, name, values)
            for name, sub in properties.items()
            if name in required or name in values or "const" in _resolve(sub, definitions)
        }
    if kind == "array":
        return [_example(schema.get("items", {}), definitions, field, values)]
    return {"string": "x", "integer": 1, "number": 1.0, "boolean": False}.get(kind, {})  # type: ignore[arg-type]
