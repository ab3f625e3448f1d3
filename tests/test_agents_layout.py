"""The shape of agents/: its modules import each other without a circle, and none takes another's private
names, counting imports inside functions and under TYPE_CHECKING (a circle hidden there is still a circle).
Read from the source with ast, so the check needs no import and runs on any copy of the tree (AGENTS_DIR)."""

from __future__ import annotations

import ast
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AGENTS = Path(os.environ.get("AGENTS_DIR", ROOT / "agents"))


def _modules(agents_dir: Path) -> dict[str, Path]:
    """Dotted name -> file, for every module and package of agents/."""
    out = {}
    for path in sorted(agents_dir.rglob("*.py")):
        parts = ["agents", *path.relative_to(agents_dir).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _resolve(module: str, level: int, current: str, is_package: bool) -> str:
    if not level:
        return module
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, str | None]]:
    """(imported agents module, name taken from it or None) for every import in the file, at any depth."""
    out: list[tuple[str, str | None]] = []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, None) for a in node.names if a.name.split(".")[0] == "agents"]
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(node.module or "", node.level, name, path.name == "__init__.py")
            if source.split(".")[0] != "agents":
                continue
            for a in node.names:
                sub = f"{source}.{a.name}"
                out.append((sub, None) if sub in modules else (source, a.name))
    return out


def import_graph(agents_dir: Path = AGENTS) -> tuple[dict[str, set[str]], list[str]]:
    """The module graph (an edge also to each package a module's import runs: importing agents.x.y runs
    agents/x/__init__.py) and the private names imported across modules."""
    modules = _modules(agents_dir)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    private: list[str] = []
    for name, path in modules.items():
        for target, taken in _imports(name, path, modules):
            parts = target.split(".")
            for i in range(2, len(parts) + 1):  # agents.x, agents.x.y, ...: each runs when the import does
                dep = ".".join(parts[:i])
                if dep in modules and dep != name and not name.startswith(dep + "."):
                    graph[name].add(dep)
            if taken and taken.startswith("_") and not taken.startswith("__") and target != name:
                private.append(f"{name} imports {taken} from {target}")
    return graph, private


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle as [a, b, ..., a], or [] when the graph is acyclic."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_agents_import_graph_has_no_circle():
    graph, _ = import_graph()
    assert find_cycle(graph) == [], "import circle: " + " -> ".join(find_cycle(graph))


def test_no_agents_module_imports_another_modules_private_names():
    _, private = import_graph()
    assert private == []


def private_attribute_uses(agents_dir: Path = AGENTS) -> list[str]:
    """`obj._name` on anything but self or cls, in the conversation layer (agents/llm/, the backends, is
    left out: its tuning script reads the embedded backend's model)."""
    out = []
    for name, path in _modules(agents_dir).items():
        if name == "agents.llm" or name.startswith("agents.llm."):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                    out.append(f"{name}:{node.lineno} {ast.unparse(node)}")
    return out


def test_no_module_reaches_into_another_objects_private_parts():
    assert private_attribute_uses() == []


def test_the_agent_knows_no_policy_internals():
    """The Agent depends on the interface and the default policy, never on the llm policy; each policy module
    only on the shared modules and, for the llm policy's fallback, on the planner's public class."""
    graph, _ = import_graph()
    assert "agents.policies.planner" in graph and "agents.policies.llm" in graph
    assert "agents.policies.llm" not in graph["agents.agent"]
    assert "agents.agent" not in graph["agents.policies.planner"] | graph["agents.policies.llm"]
    assert "agents.policies.llm" not in graph["agents.policies.planner"]


def test_the_checks_see_a_circle_and_a_private_import(tmp_path):
    """The checks themselves, on a made-up tree with what the old layout had: a function-level import back."""
    pkg = tmp_path / "agents"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "agent.py").write_text("from agents.policy import helper\n\ndef _turn():\n    pass\n")
    (pkg / "policy.py").write_text("def helper(agent):\n    from agents.agent import _turn\n    return _turn, agent._present\n")
    graph, private = import_graph(pkg)
    assert find_cycle(graph) in (["agents.agent", "agents.policy", "agents.agent"], ["agents.policy", "agents.agent", "agents.policy"])
    assert private == ["agents.policy imports _turn from agents.agent"]
    assert private_attribute_uses(pkg) == ["agents.policy:3 agent._present"]
