"""Pictures of the alerts for the docs (``make alert-pictures``): a status change and a member
change, each as the email, a Slack message and a Teams card, drawn as SVG from what the real
renderers (``alerts.status``, ``alerts.members``, ``alerts.render``) put in the SNS message.

Fixed inputs (account 123456789012, us-east-1, a fixed time) make the output the same on every
run; ``tests/unit/test_alert_pictures.py`` draws them again and compares with docs/images/.
Drawings, not screenshots: the layout follows how docs/ALERTS.md describes each client showing a
custom notification; the words are the renderers'. Text is wrapped by an estimate of its width
(Helvetica's, with a margin), as a client would wrap it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as _escape
from xml.sax.saxutils import quoteattr

from enrollment_monitor.alerts.members import member_alert
from enrollment_monitor.alerts.message import Alert
from enrollment_monitor.alerts.status import status_alert
from enrollment_monitor.enrollment import (
    Decision,
    Enrollment,
    Observation,
    WatchedSubject,
    recorded_after,
)
from enrollment_monitor.member_diff import ChangeList, MemberChange

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
COMMAND = "make alert-pictures"
WHERE = WatchedSubject("123456789012", "us-east-1")
NOW = datetime(2026, 11, 26, 10, tzinfo=UTC)


def status_change() -> Alert:
    """Active to Inactive, someone opted the account out: the example docs/ALERTS.md shows."""
    previous = Observation(
        Enrollment("Active", None, datetime(2026, 3, 1, 8, tzinfo=UTC), True, 12),
        datetime(2026, 3, 1, 9, tzinfo=UTC),
    )
    current = Enrollment(
        "Inactive",
        "Opted out by arn:aws:iam::123456789012:user/alice",
        datetime(2026, 11, 26, 9, 12, tzinfo=UTC),
        True,
        12,
    )
    recorded = recorded_after(Decision.CHANGED, previous, current, NOW)
    assert recorded  # a change is always recorded
    return status_alert(WHERE, Decision.CHANGED, previous, recorded, NOW)


def member_change() -> Alert:
    """Three members changed at one check: one opted out, one failed, one joined."""
    changes = ChangeList()
    changes.add(
        MemberChange(
            "111111111111", "Active", "Inactive", "Opted out by arn:aws:iam::111111111111:root"
        )
    )
    changes.add(
        MemberChange(
            "222222222222", "Pending", "Failed", "Service-linked role could not be created"
        )
    )
    changes.add(MemberChange("333333333333", None, "Active"))
    members = {"Active": 10, "Inactive": 1, "Failed": 1}
    return member_alert(WHERE, changes, members, NOW)


ALERTS: dict[str, Callable[[], Alert]] = {
    "status-change": status_change,
    "member-change": member_change,
}

# Helvetica's advance widths (1/1000 em) of the printable ASCII characters, space to tilde.
_HELVETICA = (
    "278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278 556 556 556 556 556 556 "
    "556 556 556 556 278 278 584 584 584 556 1015 667 667 722 722 667 611 778 722 278 500 667 "
    "556 833 722 778 667 778 722 667 611 722 667 944 667 667 611 278 278 278 469 556 333 556 "
    "556 500 556 556 278 556 556 222 222 500 222 833 556 556 556 556 333 500 278 556 500 722 "
    "500 500 500 334 260 334 584"
)
_WIDTHS = {chr(32 + i): int(w) / 1000 for i, w in enumerate(_HELVETICA.split())}
_ZERO_WIDTH = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"}
# Lato (Slack) and Segoe UI (Teams) are about Helvetica's width; DejaVu Sans, a common
# fallback, is wider: the margin keeps a line inside its frame in any of them.
_SANS_MARGIN = 1.2
_BOLD = 1.08  # bold is about this much wider
_MONO_EM = 0.61  # DejaVu Sans Mono, Menlo and Courier advance 0.6 em

MONO = "Menlo, Consolas, 'DejaVu Sans Mono', 'Liberation Mono', monospace"
SANS = "Lato, 'Segoe UI', 'Helvetica Neue', Helvetica, Arial, sans-serif"


def text_width(text: str, size: float, mono: bool = False) -> float:
    """An estimate of the width of ``text`` in pixels, at least its real width."""
    if mono:
        return sum(0 if c in _ZERO_WIDTH else _MONO_EM for c in text) * size
    em = sum(0 if c in _ZERO_WIDTH else _WIDTHS.get(c, 0.7) for c in text)
    return em * size * _SANS_MARGIN


@dataclass(frozen=True)
class Word:
    text: str
    style: str  # "plain", "code" (a `code span`) or "link" (a URL)
    glued: bool = False  # no space before it: "`code`." is two words, shown as one

    def width(self, size: float) -> float:
        return text_width(self.text, size, mono=self.style == "code")


def words(paragraph: str) -> list[Word]:
    """The words of a chat paragraph: backquoted runs become code spans (client markdown),
    URLs links."""
    found, code = [], False
    for chunk in paragraph.split():
        glued = False
        for index, piece in enumerate(chunk.split("`")):
            code = code if index == 0 else not code
            if piece:
                link = not code and piece.startswith("https://")
                style = "code" if code else "link" if link else "plain"
                found.append(Word(piece, style, glued))
                glued = True
    return found


def wrap(paragraph: str, width: float, size: float) -> list[list[Word]]:
    """The lines a client shows ``paragraph`` in, ``width`` pixels wide: greedy, as browsers
    wrap; a word wider than a line is broken where it overflows."""
    lines: list[list[Word]] = [[]]
    used = 0.0
    space = text_width(" ", size)
    for word in words(paragraph):
        for piece in _pieces(word, width, size):
            needed = piece.width(size) + (space if lines[-1] and not piece.glued else 0)
            if lines[-1] and used + needed > width:
                lines.append([])
                used, needed = 0.0, piece.width(size)
            lines[-1].append(piece)
            used += needed
    return lines


def _pieces(word: Word, width: float, size: float) -> Iterator[Word]:
    text = word.text
    while Word(text, word.style).width(size) > width:
        cut = max(
            n for n in range(1, len(text) + 1) if Word(text[:n], word.style).width(size) <= width
        )
        yield Word(text[:cut], word.style, word.glued)
        text = text[cut:]
    yield Word(text, word.style, word.glued and text == word.text)


def mono_lines(text: str, columns: int) -> list[str]:
    """Plain text as a mail client shows it in ``columns`` columns: each line kept, a longer
    one continued on the next."""
    lines = []
    for line in text.split("\n"):
        lines += [line[i : i + columns] for i in range(0, len(line), columns)] or [""]
    return lines


# What XML 1.0 cannot hold at all, escaped or not: shown as U+FFFD, as a client would.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def escape(text: str) -> str:
    """``text`` as XML character data: markup escaped, what XML cannot hold replaced."""
    return _escape(_NOT_XML.sub("\ufffd", text))


def attribute(value: str) -> str:
    """``value`` as a quoted XML attribute value."""
    return quoteattr(_NOT_XML.sub("\ufffd", value))


def _number(value: str | float) -> str:
    return f"{value:g}" if isinstance(value, float | int) else value


_SPAN_STYLES = {
    "code": f' font-family={attribute(MONO)} fill="#c01343"',
    "link": ' fill="#1264a3"',
}


class Svg:
    """An SVG drawing, element by element; ``text`` escapes what it is given."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.parts: list[str] = []

    def add(self, tag: str, content: str = "", **attributes: str | float) -> None:
        attrs = "".join(
            f" {name.replace('__', ':').replace('_', '-')}={attribute(_number(value))}"
            for name, value in attributes.items()
        )
        self.parts.append(f"<{tag}{attrs}>{content}</{tag}>" if content else f"<{tag}{attrs}/>")

    def text(self, x: float, y: float, text: str, **attributes: str | float) -> None:
        self.add("text", escape(text), x=x, y=y, **attributes)

    def words(self, x: float, y: float, line: list[Word], size: float, **attrs: str) -> None:
        """One wrapped line, each run of words in its style."""
        runs: list[tuple[str, str]] = []  # (style, text); spaces between runs are plain
        for index, word in enumerate(line):
            space = " " if index and not word.glued else ""
            if runs and runs[-1][0] == word.style:
                runs[-1] = (word.style, runs[-1][1] + space + word.text)
            else:
                runs += [("plain", space)] if space else []
                runs.append((word.style, word.text))
        spans = "".join(
            escape(text)
            if style == "plain"
            else f"<tspan{_SPAN_STYLES[style]}>{escape(text)}</tspan>"
            for style, text in runs
        )
        self.add("text", spans, x=x, y=y, font_size=size, xml__space="preserve", **attrs)

    def document(self, height: float, title: str) -> str:
        body = "\n".join(self.parts)
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" '
            f'height="{_number(height)}" viewBox="0 0 {self.width} {_number(height)}" '
            f'font-family={attribute(SANS)} role="img" aria-label={attribute(title)}>\n'
            f"<title>{escape(title)}</title>\n"
            f"{body}\n</svg>\n"
        )


def renderings(alert: Alert) -> tuple[str, dict[str, Any]]:
    """The email text and the chat document of an alert, as SNS delivers them."""
    message = json.loads(alert.message)
    return message["email"], json.loads(message["https"])


def email_picture(subject: str, email: str) -> str:
    """The email in a mail client's frame: its subject, then the text in monospace."""
    size, line_height, columns = 13, 17, 84
    width = round(text_width("x" * columns, size, mono=True)) + 40
    svg = Svg(width)
    # The subject only: the sender and SNS's own footer are SNS's, not the monitor's.
    y = 14.0
    svg.text(20, y + 18, "Subject:", font_size=size, fill="#6b7280")
    for line in wrap(subject, width - 110, size * _BOLD):
        y += 18
        svg.words(90, y, line, size, fill="#111827", font_weight="bold")
    header = y + 20
    body = mono_lines(email, columns)
    height = header + 28 + len(body) * line_height
    svg.parts[:0] = [
        f'<rect x="0.5" y="0.5" width="{width - 1}" height="{_number(height - 1)}" rx="8" '
        'fill="#fff" stroke="#c8ccd0"/>',
        f'<rect x="1" y="1" width="{width - 2}" height="{_number(header - 1)}" rx="8" '
        'fill="#f3f4f6"/>',
        f'<line x1="1" y1="{_number(header)}" x2="{width - 1}" y2="{_number(header)}" '
        'stroke="#c8ccd0"/>',
    ]
    texts = "".join(
        f'<text x="20" y="{_number(header + 28 + i * line_height)}" xml:space="preserve">'
        f"{escape(line)}</text>"
        for i, line in enumerate(body)
        if line.strip()
    )
    svg.add("g", texts, font_family=MONO, font_size=size, fill="#1f2937")
    return svg.document(height, f"Email: {subject}")


@dataclass(frozen=True)
class Client:
    """How a chat client frames a custom notification: a message with a coloured bar (Slack),
    or a card (Teams)."""

    name: str
    card: bool
    accent: str


SLACK = Client("Slack", card=False, accent="#ff9900")
TEAMS = Client("Microsoft Teams", card=True, accent="#6264a7")
CHAT_WIDTH = 780  # the console URL fits on one line
INK = "#1d1c1d"


def chat_picture(chat: dict[str, Any], client: Client, time: str) -> str:
    """The custom notification as ``client`` shows it: the title, the description's lines, the
    next steps as a list, the keywords as tags."""
    content = chat["content"]
    size, line_height = 14, 20
    left = 40 if client.card else 76
    room = CHAT_WIDTH - left - 40
    svg = Svg(CHAT_WIDTH)
    # The sender, as the client heads a message from an app.
    svg.add(
        "rect", x=20, y=14, width=40, height=40, rx=20 if client.card else 8, fill=client.accent
    )
    svg.text(
        40,
        40,
        "Q",
        font_size=20,
        font_weight="bold",
        fill="#fff",
        text_anchor="middle",
    )
    svg.text(72, 34, "Amazon Q", font_size=15, font_weight="bold", fill=INK)
    x = 72 + text_width("Amazon Q", 15 * _BOLD) + 8
    if not client.card:
        svg.add("rect", x=x, y=22, width=30, height=15, rx=3, fill="#e8e8e8")
        svg.text(
            x + 15,
            33,
            "APP",
            font_size=10,
            fill="#616061",
            text_anchor="middle",
            font_weight="bold",
        )
        x += 38
    svg.text(x, 34, time, font_size=12, fill="#616061")
    top = y = 80.0 if client.card else 62.0

    def paragraph(text: str, indent: float = 0, size_: float = size, bold: bool = False) -> None:
        nonlocal y
        weight = "bold" if bold else "normal"
        for line in wrap(text, room - indent, size_ * (_BOLD if bold else 1)):
            y += max(line_height, size_ * 1.45)
            svg.words(left + indent, y, line, size_, fill=INK, font_weight=weight)

    paragraph(content["title"], size_=16, bold=True)
    y += 4
    for line in content["description"].split("\n"):
        paragraph(line)
    if content["nextSteps"]:
        y += 8
        paragraph("Next steps", bold=True)
        for step in content["nextSteps"]:
            svg.text(left + 4, y + line_height, "\u2022", font_size=size, fill=INK)
            paragraph(step, indent=18)
    y += 14
    x = left
    for keyword in content["keywords"]:
        tag = text_width(keyword, 12) + 16
        svg.add("rect", x=x, y=y, width=tag, height=22, rx=11, fill="#f1f1f1", stroke="#d6d6d6")
        svg.text(
            x + tag / 2,
            y + 15,
            keyword,
            font_size=12,
            fill=INK,
            text_anchor="middle",
        )
        x += tag + 8
    height = y + 42
    frame = [
        f'<rect x="0.5" y="0.5" width="{CHAT_WIDTH - 1}" height="{_number(height - 1)}" '
        'rx="8" fill="#fff" stroke="#d6d6d6"/>'
    ]
    if client.card:
        frame.append(
            f'<rect x="20" y="{_number(top - 8)}" width="{CHAT_WIDTH - 40}" '
            f'height="{_number(height - top - 12)}" rx="6" fill="#fff" stroke="#e1dfdd"/>'
            f'<rect x="20" y="{_number(top - 8)}" width="{CHAT_WIDTH - 40}" height="4" '
            f'fill="{client.accent}"/>'
        )
    else:
        frame.append(
            f'<rect x="{left - 14}" y="{_number(top + 4)}" width="4" '
            f'height="{_number(y - top + 18)}" rx="2" fill="{client.accent}"/>'
        )
    svg.parts[:0] = frame
    return svg.document(height, f"{client.name}: {content['title']}")


def pictures() -> dict[str, str]:
    """Every picture, by its file name in docs/images."""
    drawn = {}
    for name, make in ALERTS.items():
        alert = make()
        email, chat = renderings(alert)
        time = NOW.strftime("%H:%M")
        drawn[f"{name}-email.svg"] = email_picture(alert.subject, email)
        drawn[f"{name}-slack.svg"] = chat_picture(chat, SLACK, time)
        drawn[f"{name}-teams.svg"] = chat_picture(chat, TEAMS, time)
    return drawn


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name, svg in pictures().items():
        (IMAGES / name).write_text(svg)
        print(f"wrote docs/images/{name} ({len(svg.encode()):,} bytes)")


if __name__ == "__main__":
    main()
