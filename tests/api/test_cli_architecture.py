"""The shape of ``api.cli``: one import direction, one composition root.

* ``api.cli`` (the package) imports the command groups; a group imports only the
  base modules (``options``, ``output``, ``root``), never another group and never
  ``api.cli`` itself; the base modules import no group.  No import cycle at all.
* Only ``api.cli.root`` builds services (engines, key rings, audit logs, the
  store, query services, the PII engine, the policy): every other module asks it.

The scan reads the source with :mod:`ast` (imports inside functions count too),
so a lazy import cannot slip past it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

CLI_DIR = Path(__file__).resolve().parents[2] / "api" / "cli"
PACKAGE = "api.cli"
BASE = frozenset({"api.cli.options", "api.cli.output", "api.cli.root"})
ENTRY = frozenset({PACKAGE, "api.cli.__main__"})
ROOT = "api.cli.root"

# Names whose call builds a service or one of the store's collaborators (Class(...) or Class.create/load(...)).
CONSTRUCTORS = frozenset(
    {
        "open_store",
        "init_store",
        "create_db_engine",
        "create_app",
        "open_key_provider",
        "load_signer",
        "load_settings",
        "KeyRing",
        "AuditLog",
        "JsonlCheckpointSink",
        "Gateway",
        "CustomerStore",
        "CustomerWrites",
        "NoteService",
        "ComplianceQueries",
        "ApiKeys",
        "DataSubjectExport",
        "MailmergeService",
        "ProfilingService",
        "DataQualityService",
        "AccessAnalytics",
        "BackupMaker",
        "Restorer",
        "PiiEngine",
        "Authorizer",
        "PolicyHolder",
    }
)


def module_name(path: Path) -> str:
    return PACKAGE if path.name == "__init__.py" else f"{PACKAGE}.{path.stem}"


def cli_modules() -> dict[str, ast.Module]:
    return {
        module_name(p): ast.parse(p.read_text(encoding="utf-8"), filename=str(p))
        for p in sorted(CLI_DIR.glob("*.py"))
    }


def imported(module: str, tree: ast.AST, known: Iterable[str]) -> set[str]:
    """The ``api.cli`` modules that ``module`` imports (``from api.cli import x`` names submodule x)."""
    known = set(known)
    package = PACKAGE if module == PACKAGE else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith(PACKAGE))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            if source != PACKAGE and not source.startswith(PACKAGE + "."):
                continue
            submodules = {f"{source}.{alias.name}" for alias in node.names} & known
            found.update(submodules or {source})
            if submodules and len(submodules) < len(node.names):
                found.add(source)  # names that are not submodules come from the package itself
    found.discard(module)
    return found


def import_graph(modules: dict[str, ast.Module]) -> dict[str, set[str]]:
    return {name: imported(name, tree, modules) for name, tree in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (as a path that ends where it starts), or None."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def layering_violations(graph: dict[str, set[str]]) -> list[str]:
    groups = set(graph) - BASE - ENTRY
    problems = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            if module in groups and target not in BASE:
                kind = "the package api.cli" if target == PACKAGE else "another group"
                problems.append(f"{module} imports {target} ({kind}): a group imports only {sorted(BASE)}")
            elif module in BASE and target not in BASE:
                problems.append(f"{module} (a base module) imports {target}")
    return problems


def constructions(tree: ast.AST) -> list[str]:
    """Calls that build a service: ``Name(...)``, ``mod.Name(...)`` or ``Name.create/load(...)``."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = None
        if isinstance(func, ast.Name):
            name = func.id
        elif isinstance(func, ast.Attribute):
            if func.attr in CONSTRUCTORS:
                name = func.attr
            elif isinstance(func.value, ast.Name) and func.value.id in CONSTRUCTORS:
                name = f"{func.value.id}.{func.attr}"
        if name is not None and name.split(".")[0] in CONSTRUCTORS:
            found.append(f"line {node.lineno}: {name}(...)")
    return found


def test_the_package_has_the_expected_layout() -> None:
    modules = cli_modules()
    assert set(modules) >= BASE | ENTRY, sorted(modules)
    assert not (CLI_DIR.parent / "cli.py").exists(), "api/cli.py would shadow the package"
    assert not list(CLI_DIR.parent.glob("cli_*.py")), "command modules live in api/cli/"
    groups = set(modules) - BASE - ENTRY
    assert len(groups) >= 10, sorted(groups)
    graph = import_graph(modules)
    assert graph[PACKAGE] >= groups, f"api.cli does not mount {sorted(groups - graph[PACKAGE])}"
    for group in groups:  # each group mounts itself on the root app
        names = {n.name for n in modules[group].body if isinstance(n, ast.FunctionDef)}
        assert "register" in names, f"{group} has no register(app)"


def test_one_import_direction_and_no_cycle() -> None:
    graph = import_graph(cli_modules())
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph) or [])}"
    assert layering_violations(graph) == []


def test_only_the_root_builds_services() -> None:
    offenders = {
        name: found for name, tree in cli_modules().items() if name != ROOT and (found := constructions(tree))
    }
    assert offenders == {}, f"services built outside api.cli.root: {offenders}"
    wiring_users = [
        name
        for name, tree in cli_modules().items()
        if name != ROOT
        and any(
            (isinstance(n, ast.ImportFrom) and n.module == "api.wiring")
            or (isinstance(n, ast.Import) and any(a.name == "api.wiring" for a in n.names))
            for n in ast.walk(tree)
        )
    ]
    assert wiring_users == [], f"only the root opens the store through api.wiring: {wiring_users}"


# -- the checks themselves can fail -------------------------------------------------------------


def _graph_of(sources: dict[str, str]) -> dict[str, set[str]]:
    trees = {name: ast.parse(src) for name, src in sources.items()}
    return import_graph(trees)


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        (  # the old shape: the top module and a group import each other
            {
                "api.cli": "from api.cli import audit\n",
                "api.cli.audit": "from api.cli import opened\n",
                **{m: "" for m in BASE},
            },
            "cycle",
        ),
        (  # a group reaching into another group, lazily inside a function
            {
                "api.cli": "from api.cli import audit, profile\n",
                "api.cli.audit": "from api.cli.options import DataDir\n",
                "api.cli.profile": "def register(app):\n    from api.cli.audit import audit_app\n",
                **{m: "" for m in BASE},
            },
            "layering",
        ),
        (  # a relative import of a sibling group
            {
                "api.cli": "from api.cli import audit, keys\n",
                "api.cli.audit": "from .keys import keys_app\n",
                "api.cli.keys": "",
                **{m: "" for m in BASE},
            },
            "layering",
        ),
    ],
)
def test_the_scan_catches_cycles_and_crossed_layers(sources: dict[str, str], expected: str) -> None:
    graph = _graph_of(sources)
    if expected == "cycle":
        assert find_cycle(graph) is not None
    assert layering_violations(graph), graph


def test_the_scan_sees_a_service_built_in_a_command() -> None:
    samples = {
        "svc = ComplianceQueries(hush=hush)": "ComplianceQueries",
        "from core import apikeys\nk = apikeys.ApiKeys(gateway=g)": "ApiKeys",
        "engine = PiiEngine.create(spacy_model='x')": "PiiEngine.create",
        "def f():\n    return open_store(settings)": "open_store",
    }
    for source, expected in samples.items():
        found = constructions(ast.parse(source))
        assert any(expected in f for f in found), (source, found)
    assert constructions(ast.parse("svc.compliance.verify(ctx)\nopened(None)")) == []
