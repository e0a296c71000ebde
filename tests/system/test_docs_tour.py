"""The README's source tour names every C file of the five folders, and walks
them in layer order (proto, store, common, server, tools), so it cannot rot: a new
file without its line in the tour fails here."""

import re

from conftest import ROOT

LAYERS = ["proto", "store", "common", "server", "tools"]


def tour():
    text = (ROOT / "README.md").read_text()
    m = re.search(r"^## Source tour\n(.*?)^## ", text, re.S | re.M)
    assert m, "README.md has no '## Source tour' section"
    return m.group(1)


def sources(layer):
    return sorted(p.relative_to(ROOT / layer).as_posix() for p in (ROOT / layer).rglob("*.c"))


def layer_sections(text):
    """The tour's `### `layer/`` headings in the order they appear, each
    with its text."""
    parts = re.split(r"^### `([a-z]+)/`.*$", text, flags=re.M)
    return [(parts[i], parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


def test_tour_names_every_c_file():
    sections = dict(layer_sections(tour()))
    missing = []
    for layer in LAYERS:
        named = set(re.findall(r"`([A-Za-z0-9_./-]+\.c)`", sections.get(layer, "")))
        missing += [f"{layer}/{f}" for f in sources(layer) if f not in named and f.split("/")[-1] not in named]
    assert not missing, "README source tour does not name: " + ", ".join(missing)


def test_tour_names_only_files_that_exist():
    for layer, body in layer_sections(tour()):
        present = {f.split("/")[-1] for f in sources(layer)}
        stale = [f for f in re.findall(r"`([A-Za-z0-9_-]+\.c)`", body) if f not in present]
        assert not stale, f"README tour names {layer}/ files that are gone: {stale}"


def test_tour_in_layer_order():
    order = [layer for layer, _ in layer_sections(tour()) if layer in LAYERS]
    assert order == LAYERS, order
