"""`text:` commentary: a small markdown subset drawn as reportlab paragraphs.

markdown-it-py parses the text as CommonMark (plus tables, so they can be shown a row per line) with raw
HTML off, so `<script>` or `<font>` in commentary is shown as text and never reaches reportlab's paragraph
parser as a tag. Drawn: paragraphs, bold, italic, inline code, http/https/mailto links, bullet and numbered
lists, headings, line breaks and block quotes. Everything else is drawn as its plain text, and
``check_markdown`` says where.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from markdown_it import MarkdownIt
from markdown_it.token import Token
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Flowable, HRFlowable, Paragraph

_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
_LINK_COLOUR = "#0E7490"        # the report's accent colour (assemble's _ACCENT)
_MAX_NESTING = 256              # markdown-it's depth limit: a list counts 2, a quote 1; deeper text is dropped
_MAX_INDENT = 6                 # indent levels drawn; deeper lists and quotes stay at this indent
_INDENT_EMS = 1.5               # one indent level, in the body's font size
_BULLETS = ("•", "–")           # by list depth, alternating; both are in every standard PDF font
_HEADING_SCALES = (1.3, 1.2, 1.1)  # font size over the body's for #, ## and ### or deeper
_HTML = frozenset({"html_block", "html_inline"})
_SHOWN_AS_TEXT = {
    "image": "images are not drawn; the alt text is shown",
    "html_block": "raw HTML is not drawn; it is shown as text",
    "html_inline": "raw HTML is not drawn; it is shown as text",
    "fence": "code blocks are shown as plain text",
    "code_block": "code blocks are shown as plain text",
    "table_open": "tables are shown as plain text, one line per row",
}


@dataclass(frozen=True)
class TextStyles:
    """The styles commentary is drawn in; list and quote indents are added to these styles' own."""

    body: ParagraphStyle       # paragraphs
    bullet: ParagraphStyle     # list items
    code_font: str = "Courier"


class _Markdown(MarkdownIt):
    """CommonMark plus tables, letting every link through: the writer decides by scheme what is drawn as one."""

    def __init__(self, *, html: bool) -> None:
        # markdown-it recurses once or twice per nesting level, so the limit also bounds the stack it uses.
        super().__init__("commonmark", {"html": html, "maxNesting": _MAX_NESTING})
        self.enable("table")

    def validateLink(self, url: str) -> bool:
        return True


_MARKDOWN = _Markdown(html=False)
_WITH_HTML = _Markdown(html=True)  # only to find raw HTML for check_markdown


def check_markdown(text: str) -> list[str]:
    """Warnings, in line order, for what in ``text`` is not drawn as written (``"line 3: images are not
    drawn; the alt text is shown"``); ``[]`` when everything is drawn."""
    located = [*_located(_MARKDOWN.parse(text)),
               *((line, token) for line, token in _located(_WITH_HTML.parse(text)) if token.type in _HTML)]
    found = {(line, message) for line, token in located if (message := _undrawn(token))}
    return [f"line {line}: {message}" for line, message in sorted(found)]


def markdown_flowables(text: str, styles: TextStyles, *, markup: Callable[[str, bool], str]) -> list[Flowable]:
    """reportlab flowables that draw the markdown ``text``; never raises, and equal inputs give equal output.

    ``markup(plain, bold)`` must turn a run of plain text into escaped paragraph markup; every piece of the
    text goes through it, and ``bold`` says whether the run is set in bold.
    """
    return _Writer(styles, markup).write(_MARKDOWN.parse(text))


def _located(tokens: Sequence[Token]) -> Iterator[tuple[int, Token]]:
    """Each token and its inline children with the 1-based line it starts on."""
    line = 1
    for token in tokens:
        if token.map:
            line = token.map[0] + 1
        yield line, token
        breaks = 0
        for child in token.children or ():
            yield line + breaks, child
            breaks += child.type in ("softbreak", "hardbreak")


def _undrawn(token: Token) -> str | None:
    """What check_markdown says about ``token``, or None when it is drawn as written."""
    if token.type == "link_open" and not _is_link(token):
        href = str(token.attrGet("href"))
        shown = href if len(href) <= 60 else href[:59] + "…"
        return f"the link to {shown!r} is shown as plain text; only http, https and mailto links are drawn"
    if token.block and token.level >= _MAX_NESTING - 1:
        return "lists and quotes nested deeper than this are not drawn"
    return _SHOWN_AS_TEXT.get(token.type)


def _is_link(token: Token) -> bool:
    scheme, colon, _ = str(token.attrGet("href")).partition(":")
    return bool(colon) and scheme.lower() in _LINK_SCHEMES


class _Writer:
    """Turns markdown-it's flat token stream into paragraphs, tracking the lists and quotes that are open.

    Walking the flat stream rather than a tree keeps deep nesting off the Python stack.
    """

    def __init__(self, styles: TextStyles, markup: Callable[[str, bool], str]) -> None:
        self.styles, self.markup = styles, markup
        self.flowables: list[Flowable] = []
        self.lists: list[int | None] = []  # per open list: its next item's number, or None when bulleted
        self.quotes = 0
        self.bullet: str | None = None     # the open item's bullet, until its first block takes it
        self.heading = 0                   # the open heading's level, 0 outside headings
        self.rows: list[list[str]] = []    # the open table's rows of cells

    def write(self, tokens: Sequence[Token]) -> list[Flowable]:
        for token in tokens:
            match token.type:
                case "bullet_list_open" | "ordered_list_open":
                    self._flush_bullet()  # an item that opens with a list keeps its own bullet on a line
                    ordered = token.type == "ordered_list_open"
                    self.lists.append(int(token.attrGet("start") or 1) if ordered else None)
                case "bullet_list_close" | "ordered_list_close":
                    self.lists.pop()
                case "list_item_open":
                    self.bullet = self._next_bullet()
                case "list_item_close":
                    self._flush_bullet()
                case "blockquote_open" | "blockquote_close":
                    self.quotes += token.nesting
                case "heading_open" | "heading_close":
                    self.heading = int(token.tag[1:]) if token.nesting > 0 else 0
                case "tr_open":
                    self.rows.append([])
                case "inline" if self.rows:
                    self.rows[-1].append(self._inline(token.children or []))
                case "table_close":
                    self._paragraph("<br/>".join(" | ".join(cells) for cells in self.rows))
                    self.rows = []
                case "inline":
                    self._paragraph(self._inline(token.children or []))
                case "fence" | "code_block":
                    self._paragraph("<br/>".join(self._code(line, bold=False)
                                                 for line in token.content.rstrip("\n").split("\n")))
                case "hr":
                    self.flowables.append(HRFlowable(width="100%", thickness=0.5, spaceBefore=4, spaceAfter=4))
        return self.flowables

    def _inline(self, children: list[Token]) -> str:
        parts: list[str] = []
        bold = 1 if self.heading else 0    # how many bold spans are open
        links: list[bool] = []             # per open link: whether it is drawn as one
        pending = children[::-1]           # a stack, so an image's alt text is drawn in place without recursion
        while pending:
            token = pending.pop()
            match token.type:
                case "image":
                    pending.extend(reversed(token.children or []))
                case "strong_open" | "strong_close":
                    bold += token.nesting
                    parts.append("<b>" if token.nesting > 0 else "</b>")
                case "em_open" | "em_close":
                    parts.append("<i>" if token.nesting > 0 else "</i>")
                case "softbreak":
                    parts.append(" ")
                case "hardbreak":
                    parts.append("<br/>")
                case "code_inline":
                    parts.append(self._code(token.content, bold=bold > 0))
                case "link_open":
                    links.append(_is_link(token))
                    if links[-1]:
                        href = quoteattr(str(token.attrGet("href")))
                        parts.append(f'<a href={href} color="{_LINK_COLOUR}" underline="1">')
                case "link_close":
                    parts.append("</a>" if links.pop() else "")
                case _:  # text, and whatever else as its plain text
                    parts.append(self.markup(token.content, bold > 0))
        markup = "".join(parts)
        return f"<b>{markup}</b>" if self.heading else markup

    def _code(self, text: str, *, bold: bool) -> str:
        return f'<font name="{self.styles.code_font}">{self.markup(text, bold)}</font>'

    def _paragraph(self, markup: str) -> None:
        self.flowables.append(Paragraph(markup, self._style(), bulletText=self.bullet))
        self.bullet = None

    def _flush_bullet(self) -> None:
        if self.bullet is not None:  # reportlab draws no bullet beside an empty paragraph
            self._paragraph(self.markup("\xa0", False))

    def _next_bullet(self) -> str:
        number = self.lists[-1]
        if number is None:
            return _BULLETS[(len(self.lists) - 1) % len(_BULLETS)]
        self.lists[-1] = number + 1
        return f"{number}."

    def _style(self) -> ParagraphStyle:
        base = self.styles.bullet if self.lists else self.styles.body
        depth = min(len(self.lists) + self.quotes, _MAX_INDENT)
        step = _INDENT_EMS * self.styles.body.fontSize
        scale = _HEADING_SCALES[min(self.heading, len(_HEADING_SCALES)) - 1] if self.heading else 1.0
        left = base.leftIndent + depth * step
        return ParagraphStyle(f"{base.name}-{depth}-h{self.heading}", parent=base, leftIndent=left,
                              bulletIndent=left - step if self.lists else base.bulletIndent,
                              fontSize=base.fontSize * scale, leading=base.leading * scale)
