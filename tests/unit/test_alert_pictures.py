"""The pictures of the alerts in docs/images are what the renderers send today, drawn as valid
SVG, and the README and docs/ALERTS.md show them; `make demo` prints the chat text they draw.
"""

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from devtools.demos import demo
from devtools.demos.alert_pictures import (
    ALERTS,
    COMMAND,
    IMAGES,
    SLACK,
    TEAMS,
    chat_picture,
    email_picture,
    pictures,
    renderings,
)

ROOT = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"
DRAWN = pictures()


def shown_text(svg: str) -> str:
    """Every character a picture shows, in document order, without whitespace."""
    root = ET.fromstring(svg)
    shown = "".join("".join(text.itertext()) for text in root.iter(f"{SVG}text"))
    return "".join(shown.split())


def squeezed(text: str) -> str:
    return "".join(text.split())


def test_the_pictures_in_docs_are_what_the_renderers_draw_today() -> None:
    committed = {path.name: path.read_text() for path in IMAGES.glob("*.svg")}

    stale = sorted(name for name in DRAWN if committed.get(name) != DRAWN[name])
    extra = sorted(set(committed) - set(DRAWN))

    assert not stale and not extra, (
        f"docs/images is not what the alert renderers draw today (changed: {stale}, no longer "
        f"drawn: {extra}); run `{COMMAND}` and commit docs/images"
    )


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_each_picture_shows_every_word_the_renderer_sends(name: str) -> None:
    alert = ALERTS[name]()
    email, chat = renderings(alert)
    content = chat["content"]

    assert shown_text(DRAWN[f"{name}-email.svg"]) == squeezed(f"Subject: {alert.subject} {email}")
    said = [content["title"], content["description"], "Next steps", *content["nextSteps"]]
    for client in ("slack", "teams"):
        shown = shown_text(DRAWN[f"{name}-{client}.svg"])
        # The sender and time, the bullets and the tags aside, the words are the chat text's.
        words = squeezed(" ".join(said)).replace("`", "")
        assert words in shown.replace("\u2022", "")
        assert shown.endswith("".join(content["keywords"]))


def test_markup_and_characters_xml_cannot_hold_are_escaped() -> None:
    chat = {
        "content": {
            "title": "a < b & c > d \"quoted\" 'single'",
            "description": "x]]>y\x00z",
            "nextSteps": ["run `echo <&>` now"],
            "keywords": ["<tag>", "us-east-1"],
        }
    }
    for client in (SLACK, TEAMS):
        svg = chat_picture(chat, client, "10:00")

        shown = shown_text(svg)  # parses: the document is well-formed

        assert squeezed("a < b & c > d \"quoted\" 'single'") in shown
        assert "x]]>y\ufffdz" in shown and "echo<&>now" in shown
        assert ET.fromstring(svg).get("aria-label") == f"{client.name}: {chat['content']['title']}"
    email = email_picture("Subject <&>", 'line <one> & "two"')
    assert shown_text(email).endswith('Subject:Subject<&>line<one>&"two"')


def test_long_lines_wrap_inside_the_frame() -> None:
    long_step = "word " * 80
    chat = {"content": {"title": "t", "description": "d", "nextSteps": [long_step], "keywords": []}}
    svg = ET.fromstring(chat_picture(chat, SLACK, "10:00"))
    width = float(svg.get("width", 0))
    lines = [t for t in svg.iter(f"{SVG}text") if "word" in "".join(t.itertext())]

    assert len(lines) > 3
    # Helvetica's widths, 20% wider: the estimate stays inside the frame in DejaVu Sans too.
    assert all(float(t.get("x", 0)) + len("".join(t.itertext())) * 0.6 * 14 < width for t in lines)

    email = ET.fromstring(email_picture("s", "x" * 200))
    body = [t for t in email.iter(f"{SVG}text") if "".join(t.itertext()).startswith("x")]
    assert [len("".join(t.itertext())) for t in body] == [84, 84, 32]


def test_the_readme_shows_a_picture_and_alerts_md_shows_them_all() -> None:
    readme = (ROOT / "README.md").read_text()
    alerts = (ROOT / "docs" / "ALERTS.md").read_text()

    in_readme = re.findall(r"!\[[^\]]+\]\((docs/images/[^)]+\.svg)\)", readme)
    in_alerts = re.findall(r"!\[[^\]]+\]\((images/[^)]+\.svg)\)", alerts)

    assert in_readme and all((ROOT / path).is_file() for path in in_readme)
    assert sorted(in_alerts) == sorted(f"images/{name}" for name in DRAWN)


def test_every_picture_is_small() -> None:
    assert all(len(svg.encode()) < 12_000 for svg in DRAWN.values())


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_the_demo_prints_the_chat_message_s_title_and_every_description_line(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    content = renderings(ALERTS[name]())[1]["content"]

    demo._print_chat(content)

    printed = capsys.readouterr().out
    assert printed.startswith(f"             > {content['title']}\n")
    said = [line for line in printed.split("             > ") if line]
    assert [" ".join(line.split()) for line in said] == [
        content["title"],
        *content["description"].split("\n"),
    ]
