"""What a page tells assistive technology, read from its HTML: which error message each control is tied to."""

from __future__ import annotations

from html.parser import HTMLParser

CONTROLS = frozenset({"input", "select", "textarea"})


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.controls: list[dict[str, str]] = []
        self.errors: dict[str, str] = {}  # a field's error message (<small class="error">) by id ("" if none)
        self._open: list[str] | None = None  # the error message being read: [tag, id, text...]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.append(a["id"])
        if tag in CONTROLS:
            self.controls.append(a)
        if tag == "small" and "error" in a.get("class", "").split():
            self._open = [tag, a.get("id", "")]

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None and tag == self._open[0]:
            error_id = self._open[1]
            assert error_id, f"an error message without an id: {''.join(self._open[2:])!r}"
            self.errors[error_id] = "".join(self._open[2:]).strip()
            self._open = None


def tied_errors(html: str) -> dict[str, str]:
    """Each control marked aria-invalid, by name, -> the error messages its aria-describedby names. Fails if
    an id repeats, a control names an id the page lacks, or a field's error message is tied to no control."""
    page = _Page()
    page.feed(html)
    repeated = {i for i in page.ids if page.ids.count(i) > 1}
    assert not repeated, f"ids used twice: {sorted(repeated)}"
    tied: dict[str, str] = {}
    named: set[str] = set()
    for control in page.controls:
        described = control.get("aria-describedby", "").split()
        missing = [i for i in described if i not in page.ids]
        assert not missing, f"{control.get('name')} names missing ids {missing}"
        named.update(described)
        if control.get("aria-invalid") == "true":
            said = [page.errors[i] for i in described if i in page.errors]
            assert said, f"{control.get('name')} is marked invalid but names no error message"
            tied[control.get("name", "")] = " ".join(said)
    loose = set(page.errors) - named
    assert not loose, f"error messages tied to no control: {sorted(loose)}"
    return tied


def attrs_of(html: str, tag: str, **match: str) -> dict[str, str]:
    """The attributes of the first ``tag`` whose attributes include ``match``."""
    found: list[dict[str, str]] = []

    class _Find(HTMLParser):
        def handle_starttag(self, t: str, attrs: list[tuple[str, str | None]]) -> None:
            a = {k: v or "" for k, v in attrs}
            if not found and t == tag and all(a.get(k.replace("_", "-")) == v for k, v in match.items()):
                found.append(a)

    _Find().feed(html)
    assert found, f"no <{tag}> with {match}"
    return found[0]


def assert_selects_tied(html: str, names: tuple[str, ...], prefix: str = "") -> None:
    """Each select ``name`` is marked invalid and described by its error, ``{prefix}{name}-error``."""
    tied = tied_errors(html)
    assert set(names) <= set(tied), tied
    for name in names:
        select_ = attrs_of(html, "select", name=name)
        assert select_["aria-invalid"] == "true" and select_["aria-describedby"] == f"{prefix}{name}-error", name


def texts_of(html: str, tag: str) -> list[str]:
    """The text of each ``tag`` (visually-hidden text included: what names a button to a screen reader),
    its white space collapsed; an element nested in another of the same tag is read as part of it."""
    found: list[str] = []

    class _Read(HTMLParser):
        depth = 0
        said: list[str] = []

        def handle_starttag(self, t: str, attrs: list[tuple[str, str | None]]) -> None:
            if t == tag:
                self.depth += 1
                if self.depth == 1:
                    self.said = []

        def handle_data(self, data: str) -> None:
            if self.depth:
                self.said.append(data)

        def handle_endtag(self, t: str) -> None:
            if t == tag and self.depth:
                self.depth -= 1
                if not self.depth:
                    found.append(" ".join("".join(self.said).split()))

    _Read(convert_charrefs=True).feed(html)
    return found


def scroll_region(html: str) -> str:
    """The name of the page's first sideways-scrolling table box (div.table-scroll), asserting it is a focus stop
    a keyboard can scroll (tabindex=0) and a named region (WCAG 2.1.1, 4.1.2)."""
    box = attrs_of(html, "div", **{"class": "table-scroll"})
    assert box.get("tabindex") == "0" and box.get("role") == "region", box
    assert box.get("aria-label", "").strip(), box
    return box["aria-label"]
