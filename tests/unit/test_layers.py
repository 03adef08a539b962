"""App dependencies point one way (docs/architecture.md, "Layers"): import-linter's layers
contract in pyproject.toml holds, and it lists every package, so a new app cannot escape it."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "towerledger"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def contract() -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (layers,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "layers"]
    return layers


def lint(*args, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_the_layers_contract_is_kept():
    run = lint()
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 kept, 0 broken" in run.stdout


def test_the_contract_lists_every_package():
    layers = contract()
    listed = {name.strip().strip("()") for layer in layers["layers"]
              for name in layer.replace(":", "|").split("|")}
    ignored = set(layers.get("exhaustive_ignores", ()))
    modules = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()} | \
              {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert "settlement" in modules and "cli" in modules      # the walk found the apps
    assert modules - listed == set(), "add the new package to [tool.importlinter] layers"
    assert listed - modules == set(), "a layer names a package that does not exist"
    assert not ignored & modules, "exhaustive_ignores is for non-Python folders only"
    # and import-linter itself refuses a package missing from the list
    assert layers["exhaustive"] is True and layers["containers"] == ["towerledger"]


def test_the_linter_catches_an_upward_import(tmp_path):
    """The check has teeth: with the journal placed below the domain (which it imports),
    the same tool reports the contract broken."""
    config = tmp_path / "upside-down.toml"
    config.write_text('[tool.importlinter]\nroot_package = "towerledger"\n\n'
                      '[[tool.importlinter.contracts]]\nname = "upside down"\n'
                      'type = "layers"\ncontainers = ["towerledger"]\n'
                      'layers = ["domain", "ledger"]\n', encoding="utf-8")
    run = lint(str(config), cwd=tmp_path)
    assert run.returncode != 0
    assert "towerledger.ledger" in run.stdout and "BROKEN" in run.stdout
