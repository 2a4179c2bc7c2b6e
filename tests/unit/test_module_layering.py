"""The core's top-level modules form layers: no module imports one that imports it back.

The sign-in journey is shared by SAML, OIDC and the token bridge, so it must not name any of them;
the only module that names all three is `journey`, beside the router. This reads the `crate::`
paths in the code of every non-test source file (comments and doc links are not dependencies).
"""

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PROTOCOLS = {"saml", "oidc", "bridge"}


def _code(path: Path) -> str:
    # Unit tests sit behind `#[cfg(test)]` at the end of a file and may reach anywhere.
    text = path.read_text().split("#[cfg(test)]")[0]
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


def _imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.rs"):
        parts = path.relative_to(SRC).parts
        if path.stem.startswith("tests") or path.name == "testing.rs" or parts == ("lib.rs",):
            continue
        module = parts[0].removesuffix(".rs")
        code = _code(path)
        names = set(re.findall(r"crate::([a-z_]+)", code))
        for group in re.findall(r"use crate::\{([^}]*)\}", code):
            names.update(re.findall(r"\b([a-z_]+)\b", group))
        modules = {n for n in names if (SRC / f"{n}.rs").exists() or (SRC / n).is_dir()}
        graph.setdefault(module, set()).update(modules - {module})
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_graph_is_read():
    graph = _imports()
    # The reader must see the edges we know exist, or an empty graph would pass.
    assert {"saml", "oidc", "bridge", "signin"} <= graph["journey"]
    assert "signin" in graph["saml"] and "platform" in graph["signin"]


def test_sign_in_names_no_protocol():
    assert not (_imports()["signin"] & PROTOCOLS)


def test_only_the_journey_names_every_protocol():
    graph = _imports()
    assert [m for m, deps in graph.items() if PROTOCOLS <= deps] == ["journey"]


def test_access_rules_do_not_reach_into_sign_in():
    assert "signin" not in _imports()["access"]


def test_no_module_imports_one_that_imports_it_back():
    assert _cycle(_imports()) is None
