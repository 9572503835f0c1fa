"""The structure checks itself: layers import one way, the report and the CLI's help never load torch.

Layers, bottom to top (a module may import its own layer and those below):
    ground    config, presets, ablation, errors, system (and the package's lazy __init__)
    storage   atomic writes, locks, RunDir
    ml        data, augment, model, inference, checkpoint, train
    analyses  arrays in, results out
    report    build -> sections -> render; never ml/, jobs/ or torch
    jobs      evaluate, inspection, reproduce
    export    runs to TensorBoard and MLflow: reads run folders as report/ does (beside jobs/, never it)
    top       cli, console, __main__
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "cnnreport"
LAYERS = {"storage": 1, "ml": 2, "analyses": 3, "report": 4, "jobs": 5, "export": 5}
TOP = {"cli", "console", "__main__"}
TORCH = ("torch", "torchvision", "torchinfo")
COMMANDS = ("train", "evaluate", "inspect", "reproduce", "report", "sweep", "list", "export")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    """0 for the ground floor, 6 for the CLI; a module's folder decides the rest."""
    parts = module.split(".")
    if len(parts) == 1:
        return 0
    if parts[1] in TOP:
        return 6
    return LAYERS.get(parts[1], 0)


def in_type_checking(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            return True
    return False


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at module level or inside functions, except for type checking only."""
    tree = ast.parse(path.read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if in_type_checking(node, parents):
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            for alias in node.names:  # `from cnnreport.report import build` imports a module too
                candidate = f"{node.module}.{alias.name}"
                if (PACKAGE.parent / candidate.replace(".", "/")).with_suffix(".py").exists() or (
                    PACKAGE.parent / candidate.replace(".", "/") / "__init__.py"
                ).exists():
                    found.add(candidate)
    return found


GRAPH = {module_name(path): imports_of(path) for path in sorted(PACKAGE.rglob("*.py"))}


def closure(module: str) -> set[str]:
    """The package modules `module` imports, directly or through others."""
    seen, todo = set(), [module]
    while todo:
        for imported in GRAPH.get(todo.pop(), set()):
            if imported.startswith("cnnreport") and imported not in seen:
                seen.add(imported)
                todo.append(imported)
    return seen


def test_every_import_points_down_or_sideways():
    upward = [
        f"{module} ({layer(module)}) imports {imported} ({layer(imported)})"
        for module, imported_set in GRAPH.items()
        for imported in imported_set
        if imported.startswith("cnnreport.") and layer(imported) > layer(module)
    ]
    assert not upward, "\n".join(upward)


def test_report_never_imports_ml_jobs_or_torch():
    report = [module for module in GRAPH if module.startswith("cnnreport.report")]
    assert len(report) > 10
    for module in report:
        reached = closure(module) | GRAPH[module]
        forbidden = [m for m in reached if m.startswith(("cnnreport.ml", "cnnreport.jobs")) or m.split(".")[0] in TORCH]
        assert not forbidden, f"{module} reaches {forbidden}"


def test_the_torch_free_analyses_stay_torch_free():
    """The analyses the report reads from must not import torch, directly or through others."""
    for name in ("metrics", "calibration", "grouping", "perturbations", "seeds", "tsne"):
        module = f"cnnreport.analyses.{name}"
        reached = GRAPH[module] | {m for dep in closure(module) for m in GRAPH.get(dep, set())}
        assert not [m for m in reached if m.split(".")[0] in TORCH], module


def test_export_reads_runs_without_jobs_or_trackers_at_import():
    """export/ sits beside jobs/ and never trains: it reads run folders through report/ and storage/.

    Its trackers (the optional extra) and torch are imported inside functions only, so the
    module loads without them and says how to install what is missing.
    """
    files = sorted((PACKAGE / "export").glob("*.py"))
    assert len(files) >= 5
    for path in files:
        module = module_name(path)
        assert not [m for m in closure(module) | GRAPH[module] if m.startswith("cnnreport.jobs")], module
        tree = ast.parse(path.read_text())
        top_level = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = [a.name for n in top_level if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in top_level if isinstance(n, ast.ImportFrom)]
        outside = [
            n for n in names if n.split(".")[0] in (*TORCH, "tensorboard", "mlflow") or n.startswith("cnnreport.ml")
        ]
        assert not outside, f"{module} imports {outside} at module level"


def test_inference_and_load_model_need_no_training_code():
    for module in ("cnnreport.ml.inference", "cnnreport.ml.model", "cnnreport.ml.checkpoint"):
        assert "cnnreport.ml.train" not in closure(module), module


def test_storage_and_system_never_import_torch_at_module_level():
    ground = [PACKAGE / f"{name}.py" for name in ("system", "config", "presets")]
    for path in (*sorted((PACKAGE / "storage").glob("*.py")), *ground):
        tree = ast.parse(path.read_text())
        top_level = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = [a.name for n in top_level if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in top_level if isinstance(n, ast.ImportFrom)]
        assert not [n for n in names if n.split(".")[0] in TORCH], path.name


WRITERS = {"write_json", "write_arrays", "write_config", "write_metrics", "write_status", "atomic_write",
           "write_text", "write_bytes", "savez", "savez_compressed", "save_checkpoint", "unlink", "mkdir"}  # fmt: skip


def test_only_build_and_its_caches_write_under_report():
    """Section builders only read: the final HTML (build.py) and the caches (caches.py) are the only writes."""
    writers = {}
    for path in sorted((PACKAGE / "report").rglob("*.py")):
        calls = {
            node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call)
        }
        if calls & WRITERS:
            writers[path.name] = sorted(calls & WRITERS)
    assert writers == {"build.py": ["atomic_write"], "caches.py": ["write_arrays"]}


def python(code: str, *args: object) -> str:
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_cli_and_every_help_run_without_torch():
    code = (
        "import sys, json; from typer.testing import CliRunner; from cnnreport.cli import app;"
        "runner = CliRunner(); codes = [runner.invoke(app, ['--help']).exit_code];"
        f"codes += [runner.invoke(app, [c, '--help']).exit_code for c in {COMMANDS!r}];"
        "print(json.dumps({'codes': codes, 'loaded': sorted(m for m in sys.modules if m.split('.')[0] in"
        f" {TORCH!r})}}))"
    )
    result = json.loads(python(code))
    assert result == {"codes": [0] * (1 + len(COMMANDS)), "loaded": []}


def test_the_public_api_is_explicit_and_lazy():
    code = (
        "import sys, cnnreport; before = 'torch' in sys.modules;"
        "names = {n: type(getattr(cnnreport, n)).__name__ for n in ('ExperimentConfig', 'build_report', 'RunDir')};"
        "print(before, 'torch' in sys.modules, sorted(names))"
    )
    assert python(code).split() == ["False", "False", "['ExperimentConfig',", "'RunDir',", "'build_report']"]
    import cnnreport

    assert all(hasattr(cnnreport, name) for name in cnnreport.__all__)


@pytest.mark.slow
def test_rendering_a_report_leaves_torch_out(trained_runs: Path, tmp_path: Path):
    runs = tmp_path / "runs"
    shutil.copytree(trained_runs, runs)
    code = (
        "import sys, pathlib; from cnnreport.report.build import build_report, select_runs;"
        "build_report(select_runs(pathlib.Path(sys.argv[1])), pathlib.Path(sys.argv[2]), tsne_samples=60);"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision', 'torchinfo')))"
    )
    assert python(code, runs, tmp_path / "report.html").strip() == "[]"
    assert 'id="run-1-tiny10-tsne"' in (tmp_path / "report.html").read_text()
