"""``[questions]`` of ``connector.toml``: the answer rules (see
:mod:`connector_core.domain.questions`), checked when the file is loaded.

```toml
[questions]
timezone = "America/Argentina/Buenos_Aires"   # hours are read there (default UTC)

[questions.rules.envios]                      # rules are tried in the file's order
words = ["envio", "envios", "envian"]         # any of them, accents and case ignored
text = "¡Hola! Sí, enviamos {title} a todo el país."

[questions.rules.fuera_de_horario]
hours = "20:00-09:00"                         # asked in this window (wraps midnight)
text = "Gracias por tu consulta sobre {title}: te respondemos desde las 9."
```

Template fields: ``{title}``, ``{price}``, ``{currency_id}``, ``{available_quantity}``,
``{item_id}``, ``{sku}``.
"""

from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adapters.admin_files.toml_schema import Locator
from connector_core.domain.errors import Problem
from connector_core.domain.questions import (
    MAX_ANSWER,
    TEMPLATE_FIELDS,
    AnswerRule,
    Hours,
    template_fields,
)

MAX_WORDS = 200


def _hours(text: Any) -> Hours:
    if not isinstance(text, str) or text.count("-") != 1:
        raise ValueError('expected "HH:MM-HH:MM", e.g. "20:00-09:00"')
    start, end = (part.strip() for part in text.split("-"))
    try:
        hours = Hours(time.fromisoformat(start), time.fromisoformat(end))
    except ValueError:
        raise ValueError(f'expected "HH:MM-HH:MM", e.g. "20:00-09:00", got {text!r}') from None
    if hours.start == hours.end:
        raise ValueError("the window is empty (start equals end)")
    return hours


def _rule(name: str, spec: Any, timezone: str) -> AnswerRule:
    if not isinstance(spec, dict):
        raise ValueError("must be a table with text and words and/or hours")
    text = spec.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text: expected the answer's text (a template)")
    try:
        used = template_fields(text)
    except ValueError as exc:
        raise ValueError(f"text: {exc} (write {{{{ and }}}} for a literal brace)") from None
    unknown = sorted({f for f in used if f not in TEMPLATE_FIELDS})
    if unknown:
        raise ValueError(f"text: unknown field(s) {', '.join(unknown)} (known: "
                         f"{', '.join(TEMPLATE_FIELDS)})")
    if len(text) > MAX_ANSWER:
        raise ValueError(f"text: longer than ML's {MAX_ANSWER} characters")
    words = spec.get("words", [])
    if not isinstance(words, list) or len(words) > MAX_WORDS or not all(
            isinstance(w, str) and w.strip() for w in words):
        raise ValueError(f"words: expected a list of up to {MAX_WORDS} non-empty strings")
    try:
        hours = _hours(spec["hours"]) if "hours" in spec else None
    except ValueError as exc:
        raise ValueError(f"hours: {exc}") from None
    if not words and hours is None:
        raise ValueError("give words, hours or both: a rule that matches every question "
                         "would answer them all")
    return AnswerRule(name=name, text=text, words=tuple(words), hours=hours,
                      timezone=timezone)


def parse_answer_rules(data: Any, loc: Locator | None = None
                       ) -> tuple[tuple[AnswerRule, ...], list[Problem]]:
    """The rules of the file's ``[questions]`` table (``data`` is the whole file), and the
    problems, each located."""
    def where(*keys: str) -> str:
        return loc.where("questions", *keys) if loc is not None else "[questions]"

    section = data.get("questions", {}) if isinstance(data, dict) else {}
    if not isinstance(section, dict):
        return (), [Problem(where(), "[questions] must be a table")]
    problems: list[Problem] = []
    timezone = section.get("timezone", "UTC")
    try:
        if not isinstance(timezone, str):
            raise ValueError
        ZoneInfo(timezone)
    except (ValueError, ZoneInfoNotFoundError):
        problems.append(Problem(where("timezone"), f"[questions] timezone: expected an IANA "
                                f"zone such as \"America/Argentina/Buenos_Aires\", got "
                                f"{timezone!r}"))
        timezone = "UTC"
    rules_table = section.get("rules", {})
    if not isinstance(rules_table, dict):
        return (), [*problems, Problem(where("rules"), "[questions.rules] must be a table")]
    rules = []
    for name, spec in rules_table.items():
        try:
            rules.append(_rule(name, spec, timezone))
        except ValueError as exc:
            key = str(exc).split(":", 1)[0]
            located = where("rules", name, key) if isinstance(spec, dict) and key in spec \
                else where("rules", name)
            problems.append(Problem(located, f"[questions.rules.{name}] {exc}"))
    return tuple(rules), problems
