"""The Bot API's ``parse_mode=HTML`` for the fake: strict where Telegram refuses a message.

``parse_html(text)`` returns the plain text Telegram would show and its entities (offsets and
lengths in UTF-16 units), or raises ``HtmlError`` with the reason Telegram gives after "Bad
Request: can't parse entities: ". It accepts the tags Telegram documents (b, strong, i, em, u, ins,
s, strike, del, code, pre, tg-spoiler, blockquote, a href), the entities &lt; &gt; &amp; &quot; and
numeric ones; an unknown tag, a stray ``<`` or ``&``, or a tag left open or closed out of order is
refused. It is stricter than Telegram about a bare ``&`` (which Telegram may let through), so a
test that passes here passes there.
"""

from __future__ import annotations

import re
from typing import Any

_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "code": "code", "pre": "pre", "tg-spoiler": "spoiler", "blockquote": "blockquote",
    "a": "text_link",
}  # fmt: skip
_TAG = re.compile(r'<(/?)([a-z][a-z0-9-]*)((?:\s+[a-z-]+="[^"<>]*")*)\s*>')
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class HtmlError(ValueError):
    pass


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _entity_char(name: str) -> str:
    if name in _NAMED:
        return _NAMED[name]
    return chr(int(name[2:], 16) if name.startswith("#x") else int(name[1:]))


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    plain: list[str] = []
    units = 0
    open_tags: list[tuple[str, int, dict[str, str]]] = []  # (tag, start offset, attributes)
    entities: list[dict[str, Any]] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "<":
            tag = _TAG.match(text, position)
            if tag is None:
                raise HtmlError(f"unexpected '<' at character {position}")
            closing, name, attributes = tag.group(1) == "/", tag.group(2), tag.group(3)
            if name not in _TAGS:
                raise HtmlError(f'unsupported start tag "{name}" at character {position}')
            if closing:
                if not open_tags or open_tags[-1][0] != name:
                    raise HtmlError(f'unmatched end tag at character {position}, expected "</'
                                    f'{open_tags[-1][0] if open_tags else ""}>", found "</{name}>"')  # fmt: skip
                _, start, attrs = open_tags.pop()
                if units > start:
                    entity = {"type": _TAGS[name], "offset": start, "length": units - start}
                    if name == "a":
                        entity["url"] = attrs.get("href", "")
                    entities.append(entity)
            else:
                attrs = dict(re.findall(r'([a-z-]+)="([^"]*)"', attributes))
                open_tags.append((name, units, attrs))
            position = tag.end()
            continue
        if char == "&":
            entity_match = _ENTITY.match(text, position)
            if entity_match is None:
                raise HtmlError(f"unsupported HTML entity at character {position}")
            char = _entity_char(entity_match.group(1))
            position = entity_match.end()
        else:
            position += 1
        plain.append(char)
        units += _units(char)
    if open_tags:
        raise HtmlError(f'can\'t find end tag corresponding to start tag "{open_tags[-1][0]}"')
    return "".join(plain), sorted(entities, key=lambda e: (e["offset"], -e["length"]))
