"""The architecture of docs/architecture.md, checked on the code as it is.

Every module of the product packages (``pyproject.toml``'s wheel packages: orderhub, connectors,
quality, ml, fulfilment, ledger, orchestration, sandbox) is parsed, and every import it makes is
read, at module level or inside a function, relative or absolute, or through
``importlib.import_module`` with a literal name. The imports must follow the floors of
docs/architecture.md ("What may import what"), and the units (the top-level packages, with
``orderhub`` split into its core and its application subpackages ``orderhub.cli``,
``orderhub.audit`` and ``orderhub.site``) must not import each other in a cycle. The same
modules and ``bench/`` keep to the house sizes: no module over 400 lines, no function over 80.

A justified exception is listed with its reason in :data:`KNOWN_IMPORT_VIOLATIONS` or
:data:`SIZE_EXCEPTIONS`; an entry that no longer breaks its rule fails the test, so the lists
only shrink. Each failure names the file, the line and the rule broken.

The project documents itself in its own pages, so every pointer to a Markdown page
(``docs/architecture.md#known-traps-in-the-stack``, ``README.md``) in the code and the pages
must name a page of the repository, and a heading of it when it names one.
"""

from __future__ import annotations

import ast
import posixpath
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: orderhub's application subpackages: the floor above orchestration. The rest is core.
APPLICATION_UNITS = ("orderhub.cli", "orderhub.audit", "orderhub.site", "orderhub.live")

#: The floor each unit stands on (docs/architecture.md, "What may import what").
FLOOR_OF_UNIT: dict[str, str] = {
    "ledger": "ledger",
    "orderhub": "core",
    "connectors": "stage",
    "quality": "stage",
    "ml": "stage",
    "fulfilment": "stage",
    "orchestration": "orchestration",
    "orderhub.cli": "application",
    "orderhub.audit": "application",
    "orderhub.site": "application",
    "orderhub.live": "application",
    "sandbox": "sandbox",
}

#: The floors a floor may import, besides its own unit; and the rule, as a failure states it.
MAY_IMPORT: dict[str, tuple[frozenset[str], str]] = {
    "ledger": (frozenset(), "the ledger is a library of proofs and imports nothing of the product"),
    "core": (
        frozenset({"core", "ledger"}),
        "core imports only core and the ledger library (no stage, no orchestration, no "
        "application module)",
    ),
    "stage": (
        frozenset({"core", "ledger"}),
        "a stage imports only core and the ledger library (no other stage, no orchestration, "
        "no application module)",
    ),
    "orchestration": (
        frozenset({"core", "ledger", "stage"}),
        "orchestration imports core, the ledger and the stages, never the application floor",
    ),
    "application": (
        frozenset({"core", "ledger", "stage", "orchestration", "application"}),
        "the application floor imports anything but the sandbox",
    ),
    "sandbox": (frozenset({"core"}), "the sandbox imports only orderhub core"),
}

#: What of orderhub core the sandbox may import: the shared vocabulary, settings and secrets.
SANDBOX_MAY_IMPORT = (
    "orderhub.canonical_model",
    "orderhub.vocabularies",
    "orderhub.sources",
    "orderhub.settings",
    "orderhub.secrets",
)

#: Known import violations, ``"<file> -> <imported module>": reason``, each to be removed.
KNOWN_IMPORT_VIOLATIONS: dict[str, str] = {}

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80

#: Justified exceptions to the sizes: ``"<file>"`` or ``"<file>::<function>": reason``.
SIZE_EXCEPTIONS: dict[str, str] = {}


def product_packages() -> tuple[str, ...]:
    """The product's top-level packages: what the wheel ships (pyproject.toml)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return tuple(config["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"])


@cache
def repository_sources(packages: tuple[str, ...]) -> dict[str, str]:
    """``{path relative to the repository: text}`` of every module of ``packages``."""
    sources: dict[str, str] = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__pycache__" not in path.parts:
                sources[path.relative_to(ROOT).as_posix()] = path.read_text(encoding="utf-8")
    return sources


# --------------------------------------------------------------------------- imports


@dataclass(frozen=True)
class Import:
    """``path`` (module ``importer``) imports module ``target`` on ``line``."""

    path: str
    line: int
    importer: str
    target: str

    @property
    def key(self) -> str:
        return f"{self.path} -> {self.target}"


def module_name(path: str) -> str:
    """``orderhub/cli/__init__.py`` -> ``orderhub.cli``; ``ledger/log.py`` -> ``ledger.log``."""
    parts = list(Path(path).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _from_base(node: ast.ImportFrom, path: str) -> str:
    """The module a ``from ... import`` names, relative imports resolved against ``path``."""
    if not node.level:
        return node.module or ""
    package = module_name(path).split(".")
    if not path.endswith("__init__.py"):
        package.pop()
    package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, node.module] if node.module else package)


def imports_of(path: str, text: str, known: frozenset[str]) -> Iterator[Import]:
    """Every import of one module, wherever it stands; ``known``: the modules that exist
    (``from orderhub.cli import demo`` imports the module ``orderhub.cli.demo``)."""
    importer = module_name(path)
    for node in ast.walk(ast.parse(text, filename=path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, importer, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = _from_base(node, path)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                target = candidate if candidate in known else base
                yield Import(path, node.lineno, importer, target)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield Import(path, node.lineno, importer, node.args[0].value)


def unit_of(module: str) -> str | None:
    """The unit a module belongs to; None outside the product."""
    top = module.split(".")[0]
    if top == "orderhub":
        for unit in APPLICATION_UNITS:
            if module == unit or module.startswith(unit + "."):
                return unit
    return top if top in FLOOR_OF_UNIT else None


def all_imports(sources: Mapping[str, str]) -> list[Import]:
    """The imports of every module of ``sources``."""
    known = frozenset(module_name(path) for path in sources)
    return [found for path, text in sources.items() for found in imports_of(path, text, known)]


def broken_rule(found: Import) -> str | None:
    """The rule ``found`` breaks, in words, or None when it keeps every rule."""
    source, target = unit_of(found.importer), unit_of(found.target)
    if source is None:
        return None
    if found.target.split(".")[0] in ("tests", "bench"):
        return "the product imports nothing of tests/ or bench/"
    if target is None or target == source:
        return None
    if target == "sandbox":
        return (
            "the product never imports the sandbox: it runs it as a separate program and "
            "knows it only by source configuration"
        )
    allowed, rule = MAY_IMPORT[FLOOR_OF_UNIT[source]]
    if FLOOR_OF_UNIT[target] not in allowed:
        return f"{rule} ({target} is on the {FLOOR_OF_UNIT[target]} floor)"
    if source == "sandbox" and not any(
        found.target == name or found.target.startswith(name + ".") for name in SANDBOX_MAY_IMPORT
    ):
        return "the sandbox imports only orderhub core's " + ", ".join(SANDBOX_MAY_IMPORT)
    return None


def import_violations(sources: Mapping[str, str]) -> list[tuple[str, str]]:
    """``(key, description)`` of every import that breaks a rule; key ``"<file> -> <module>"``."""
    violations = []
    for found in all_imports(sources):
        rule = broken_rule(found)
        if rule is not None:
            where = f"{found.path}:{found.line}: {found.importer} imports {found.target}"
            violations.append((found.key, f"{where}: {rule}"))
    return violations


def unit_cycles(sources: Mapping[str, str]) -> list[str]:
    """Each import cycle between units (a strongly connected component of two or more
    units), with one import per edge inside it, by file and line."""
    edges: dict[tuple[str, str], Import] = {}
    for found in all_imports(sources):
        source, target = unit_of(found.importer), unit_of(found.target)
        if source and target and source != target:
            edges.setdefault((source, target), found)
    units = sorted({unit for edge in edges for unit in edge})
    reach = {unit: {target for (source, target) in edges if source == unit} for unit in units}
    changed = True
    while changed:  # transitive closure: a handful of units
        changed = False
        for unit in units:
            wider = set().union(reach[unit], *(reach[other] for other in reach[unit]))
            if wider != reach[unit]:
                reach[unit], changed = wider, True
    components = {frozenset({u} | {v for v in reach[u] if u in reach[v]}) for u in units}
    cycles = []
    for component in sorted((c for c in components if len(c) > 1), key=sorted):
        inside = [
            f"{s} -> {t} ({edge.path}:{edge.line} imports {edge.target})"
            for (s, t), edge in sorted(edges.items())
            if s in component and t in component
        ]
        cycles.append(
            f"units {', '.join(sorted(component))} import each other: " + "; ".join(inside)
        )
    return cycles


# --------------------------------------------------------------------------- sizes


def _functions(body: list[ast.stmt], prefix: str = "") -> Iterator[tuple[str, ast.AST]]:
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = f"{prefix}{node.name}"
            if not isinstance(node, ast.ClassDef):
                yield name, node
            yield from _functions(node.body, f"{name}.")


def size_violations(sources: Mapping[str, str]) -> list[tuple[str, str]]:
    """``(key, description)`` of every module and function over its size; key ``"<file>"``
    or ``"<file>::<function>"``."""
    violations = []
    for path, text in sources.items():
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES:
            rule = f"a module has at most {MAX_MODULE_LINES} lines"
            violations.append((path, f"{path}: {lines} lines: {rule}"))
        for name, node in _functions(ast.parse(text, filename=path).body):
            start, end = node.lineno, node.end_lineno or node.lineno  # type: ignore[attr-defined]
            if end - start + 1 > MAX_FUNCTION_LINES:
                rule = f"a function has at most {MAX_FUNCTION_LINES} lines"
                description = f"{path}:{start}: {name} is {end - start + 1} lines: {rule}"
                violations.append((f"{path}::{name}", description))
    return violations


def unexcused(violations: list[tuple[str, str]], allowed: Mapping[str, str]) -> list[str]:
    """The violations ``allowed`` does not list, then every stale entry of ``allowed``."""
    problems = [description for key, description in violations if key not in allowed]
    seen = {key for key, _ in violations}
    problems += [
        f"{key}: listed as an exception ({reason}) but no longer breaks the rule: "
        "remove it from the list"
        for key, reason in allowed.items()
        if key not in seen
    ]
    return problems


def report(title: str, problems: list[str]) -> str:
    return f"{title} ({len(problems)}):\n  " + "\n  ".join(problems)


# --------------------------------------------------------------------------- pointers

#: Folders never scanned for pointers: tools' caches, installed packages, build output.
NOT_SCANNED = frozenset(
    {".git", ".venv", "node_modules", ".orderhub", "__pycache__", "target", "dbt_packages"}
)
SCANNED_SUFFIXES = frozenset({".py", ".md", ".yaml", ".yml", ".sql", ".toml", ".sh"})
#: ``some/path.md`` or ``some/path.md#anchor``, not a method call such as ``Value.md(``.
MD_POINTER = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.md)(#[\w-]+)?(?![\w(])")
LOCAL_LINK = re.compile(r"\]\((#[\w-]+)\)")


def anchors(markdown: str) -> set[str]:
    """The anchors a Markdown page's headings get (GitHub's rule), outside code fences."""
    found: set[str] = set()
    times: dict[str, int] = {}  # a repeated heading gets -1, -2, ...
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (heading := re.match(r"#{1,6} (.+)", line)):
            slug = re.sub(r"[^\w\- ]", "", heading[1].strip().lower()).replace(" ", "-")
            count = times[slug] = times.get(slug, -1) + 1
            found.add(f"{slug}-{count}" if count else slug)
    return found


def broken_pointers(files: Mapping[str, str], exists: Mapping[str, str]) -> list[str]:
    """Each pointer of ``files`` to a Markdown page (or one of its headings) that does not
    exist; ``exists`` maps every page of the repository to its text."""
    problems = []
    for path, text in files.items():
        folder = Path(path).parent
        for number, line in enumerate(text.splitlines(), start=1):
            pointers = [(m[1], m[2]) for m in MD_POINTER.finditer(line)]
            if path.endswith(".md"):
                pointers += [(path, m[1]) for m in LOCAL_LINK.finditer(line)]
            for page, anchor in pointers:
                candidates = (page, posixpath.normpath((folder / page).as_posix()))
                target = next((c for c in candidates if c in exists), None)
                if target is None:
                    problems.append(f"{path}:{number}: {page} is no page of the repository")
                elif anchor and anchor[1:] not in anchors(exists[target]):
                    problems.append(f"{path}:{number}: {target} has no heading {anchor}")
    return problems


def repository_texts() -> dict[str, str]:
    """Every scanned text file of the repository, by relative path (but this file, whose
    examples point nowhere on purpose)."""
    texts = {}
    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT)
        if (
            NOT_SCANNED.isdisjoint(relative.parts)
            and path.suffix in SCANNED_SUFFIXES
            and path.is_file()
            and path != Path(__file__).resolve()
        ):
            texts[relative.as_posix()] = path.read_text(encoding="utf-8", errors="replace")
    return texts


# --------------------------------------------------------------------------- the code as it is


def test_every_product_unit_has_a_floor() -> None:
    packages = product_packages()
    units = {*packages, *(u for u in APPLICATION_UNITS if u.split(".")[0] in packages)}
    assert units == set(FLOOR_OF_UNIT), (
        "each top-level package needs a floor in FLOOR_OF_UNIT and in docs/architecture.md: "
        f"missing {sorted(units - set(FLOOR_OF_UNIT))}, gone {sorted(set(FLOOR_OF_UNIT) - units)}"
    )


def test_the_walk_sees_every_package_and_imports_inside_functions() -> None:
    sources = repository_sources(product_packages())
    for package in product_packages():
        assert any(path.startswith(f"{package}/") for path in sources), package
    found = {(i.importer, i.target) for i in all_imports(sources)}
    # a function-level import: `orderhub ui` loads the Dagster instance only when it runs
    assert ("orderhub.cli.ui", "orchestration.instance") in found


def test_imports_follow_the_floors() -> None:
    violations = import_violations(repository_sources(product_packages()))
    problems = unexcused(violations, KNOWN_IMPORT_VIOLATIONS)
    if problems:
        pytest.fail(report("imports that break docs/architecture.md", problems), pytrace=False)


def test_no_import_cycle_between_units() -> None:
    cycles = unit_cycles(repository_sources(product_packages()))
    if cycles:
        pytest.fail(report("import cycles between units", cycles), pytrace=False)


def test_modules_and_functions_keep_to_their_size() -> None:
    violations = size_violations(repository_sources((*product_packages(), "bench")))
    problems = unexcused(violations, SIZE_EXCEPTIONS)
    if problems:
        pytest.fail(report("modules or functions over the house sizes", problems), pytrace=False)


def test_pointers_into_the_documents_resolve() -> None:
    texts = repository_texts()
    pages = {path: text for path, text in texts.items() if path.endswith(".md")}
    assert "docs/architecture.md" in pages
    problems = broken_pointers(texts, pages)
    if problems:
        title = "pointers to pages or headings that do not exist"
        pytest.fail(report(title, problems), pytrace=False)


# --------------------------------------------------------------------------- the checks can fail


def test_a_ledger_import_of_the_product_is_named_by_file_and_line() -> None:
    sources = {
        "ledger/proofs.py": "import hashlib\n\ndef f():\n    from orderhub import settings\n"
    }
    sources["orderhub/settings.py"] = ""
    ((key, description),) = import_violations(sources)
    assert key == "ledger/proofs.py -> orderhub.settings"
    assert description.startswith("ledger/proofs.py:4: ledger.proofs imports orderhub.settings")
    assert "imports nothing of the product" in description


def test_the_product_importing_the_sandbox_is_refused() -> None:
    sources = {
        "connectors/sync.py": "import sandbox.server\n",
        "orderhub/cli/demo.py": "from sandbox.scenario import Scenario\n",
        "orderhub/warehouse.py": "import importlib\nimportlib.import_module('sandbox')\n",
        "sandbox/server.py": "from orderhub.settings import Settings\nimport ledger\n",
        "sandbox/store.py": "from orderhub.warehouse import connect\n",
    }
    described = dict(import_violations(sources))
    for key in ("connectors/sync.py -> sandbox.server", "orderhub/cli/demo.py -> sandbox.scenario"):
        assert "never imports the sandbox" in described[key]
    assert described["orderhub/warehouse.py -> sandbox"].startswith(
        "orderhub/warehouse.py:2: orderhub.warehouse imports sandbox: the product never"
    )
    assert "imports only orderhub core" in described["sandbox/server.py -> ledger"]
    assert "orderhub.canonical_model" in described["sandbox/store.py -> orderhub.warehouse"]
    assert "sandbox/server.py -> orderhub.settings" not in described


def test_floor_breaks_are_named() -> None:
    sources = {
        "orderhub/progress.py": "from orchestration.resources import WarehouseResource\n",
        "orderhub/secrets.py": "from .cli import main\nfrom . import settings\n",
        "orderhub/settings.py": "",
        "orderhub/cli/__init__.py": "from orchestration.definitions import defs\n",
        "connectors/sync.py": "from ledger import canonical\nimport quality.runner\n",
        "ml/forecast.py": "from orderhub.cli import demo\n",
        "orchestration/resources.py": "from orderhub.audit import trace\nimport connectors\n",
    }
    described = dict(import_violations(sources))
    assert set(described) == {
        "orderhub/progress.py -> orchestration.resources",
        "orderhub/secrets.py -> orderhub.cli",
        "connectors/sync.py -> quality.runner",
        "ml/forecast.py -> orderhub.cli",
        "orchestration/resources.py -> orderhub.audit",
    }
    assert (
        "core imports only core and the ledger library"
        in described["orderhub/secrets.py -> orderhub.cli"]
    )
    assert "no other stage" in described["connectors/sync.py -> quality.runner"]
    assert "never the application" in described["orchestration/resources.py -> orderhub.audit"]


def test_a_cycle_between_units_is_found() -> None:
    sources = {
        "orderhub/cli/audit.py": "from orderhub.audit import trace_order\n",
        "orderhub/audit.py": "def f():\n    from orderhub.cli.audit import main\n",
        "orderhub/settings.py": "",
    }
    assert not import_violations(sources)  # both on the application floor: allowed ...
    (cycle,) = unit_cycles(sources)  # ... but a cycle
    assert "orderhub.audit, orderhub.cli" in cycle and "orderhub/audit.py:2" in cycle
    assert not unit_cycles({"orderhub/cli/audit.py": sources["orderhub/cli/audit.py"]})


def test_sizes_and_stale_exceptions_are_named() -> None:
    def lines(count: int, indent: str) -> str:
        return "".join(f"{indent}x = {n}\n" for n in range(count))

    sources = {
        "ml/big.py": "class Model:\n    def fit(self):\n" + lines(80, " " * 8),  # 81 lines
        "ml/small.py": "def ok():\n" + lines(79, " " * 4),  # 80 lines
        "ml/long.py": "\n" * (MAX_MODULE_LINES + 1),
    }
    violations = size_violations(sources)
    assert [key for key, _ in violations] == ["ml/big.py::Model.fit", "ml/long.py"]
    assert "ml/big.py:2: Model.fit is 81 lines" in violations[0][1]
    problems = unexcused(violations, {"ml/long.py": "why", "ml/small.py::ok": "was long"})
    assert len(problems) == 2 and problems[0].startswith("ml/big.py:2")
    assert problems[1].startswith("ml/small.py::ok: listed as an exception (was long)")


def test_a_pointer_to_a_missing_page_or_heading_is_named() -> None:
    pages = {
        "docs/a.md": "# How it works\n\n## Known traps in the stack\n\n```\n# not a heading\n```\n",
        "README.md": "see [traps](#known-traps) and docs/a.md#how-it-works\n# Use\n# Use\n",
    }
    files = {
        **pages,
        "ml/x.py": "# docs/a.md#known-traps-in-the-stack, MetadataValue.md(text)\n# NOTES.md\n",
        "ml/y.py": "# docs/a.md#not-a-heading, README.md#use-1\n",
    }
    assert broken_pointers(files, pages) == [
        "README.md:1: README.md has no heading #known-traps",
        "ml/x.py:2: NOTES.md is no page of the repository",
        "ml/y.py:1: docs/a.md has no heading #not-a-heading",
    ]
