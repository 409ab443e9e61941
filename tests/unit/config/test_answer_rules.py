"""``[questions]`` in connector.toml: answer rules are checked when the file loads, each
problem located; unknown keys are refused like any other."""

from pathlib import Path

import pytest

from adapters.admin_files.answer_rules import parse_answer_rules
from config.settings import Settings
from connector_core.domain.errors import InvalidInput

GOOD = """\
[questions]
timezone = "America/Argentina/Buenos_Aires"

[questions.rules.envios]
words = ["envio", "envíos"]
text = "Sí, {title} sale con envío ({price} {currency_id})."

[questions.rules.noche]
hours = "20:00-09:00"
text = "Te respondemos desde las 9."
"""


def load(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "connector.toml"
    path.write_text(text)
    return Settings.load({"CONNECTOR_CONFIG": str(path)})


def test_good_rules_load_in_the_files_order(tmp_path: Path) -> None:
    settings = load(tmp_path, GOOD)
    rules, problems = parse_answer_rules(dict(settings.raw))
    assert problems == [] and [r.name for r in rules] == ["envios", "noche"]
    assert rules[0].timezone == "America/Argentina/Buenos_Aires"


@pytest.mark.parametrize(("extra", "where", "message"), [
    ('[questions.rules.x]\nwords = ["a"]\ntext = "hola"\nprority = 1\n', "15:1",
     "unknown key 'prority' in [questions.rules.x]"),
    ('[questions.rules.x]\ntext = "hola"\n', "12:1", "give words, hours or both"),
    ('[questions.rules.x]\nwords = ["a"]\ntext = "{titulo}"\n', "14:1",
     "text: unknown field(s) titulo"),
    ('[questions.rules.x]\nwords = ["a"]\ntext = "{title"\n', "14:1", "text:"),
    ('[questions.rules.x]\nhours = "25:00-08:00"\ntext = "a"\n', "13:1", 'expected "HH:MM'),
    ('[questions.rules.x]\nhours = "08:00-08:00"\ntext = "a"\n', "13:1", "window is empty"),
    ('[questions.rules.x]\nwords = "envio"\ntext = "a"\n', "13:1", "words: expected a list"),
])
def test_a_bad_rule_is_located(tmp_path: Path, extra: str, where: str, message: str) -> None:
    with pytest.raises(InvalidInput) as err:
        load(tmp_path, GOOD + "\n" + extra)
    assert f"connector.toml:{where}: " in str(err.value)
    assert message in str(err.value)


def test_a_bad_timezone_is_located(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as err:
        load(tmp_path, GOOD.replace("America/Argentina/Buenos_Aires", "Mars/Olympus"))
    assert "connector.toml:2:1: [questions] timezone" in str(err.value)
