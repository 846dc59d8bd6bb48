"""Regenerate the protobuf and gRPC code in adapters/pb from protos/.

One command (`make proto`) so the generated code is reproducible; `--check` regenerates into a
temporary directory and fails when it differs from what is committed, which is how CI notices
a .proto edited without regenerating. protoc writes absolute imports rooted at the proto path
(`from truc.v1 import ...`); we rewrite them to the package they live in here.
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
PACKAGE = "adapters.pb"
_IMPORT = re.compile(r"^from truc\.v1 import ", re.MULTILINE)


def generate(out_dir: Path) -> list[Path]:
    """Run protoc on every .proto under protos/ and return the files written."""
    from grpc_tools import protoc  # dev dependency: only needed to regenerate

    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    out_dir.mkdir(parents=True, exist_ok=True)
    include = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    written: list[Path] = []
    for path in sorted(out_dir.rglob("*.py*")):
        text = _IMPORT.sub(f"from {PACKAGE}.truc.v1 import ", path.read_text())
        path.write_text(text)
        written.append(path)
    for pkg in [out_dir, out_dir / "truc", out_dir / "truc" / "v1"]:
        init = pkg / "__init__.py"
        init.write_text('"""Generated from protos/ by `make proto`; do not edit."""\n')
        written.append(init)
    return written


def _differences(a: Path, b: Path) -> list[str]:
    names_a = {
        p.relative_to(a) for p in a.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }
    names_b = {
        p.relative_to(b) for p in b.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }
    diffs = [f"only in {a}: {n}" for n in sorted(names_a - names_b)]
    diffs += [f"missing from {a}: {n}" for n in sorted(names_b - names_a)]
    diffs += [
        f"differs: {n}"
        for n in sorted(names_a & names_b)
        if not filecmp.cmp(a / n, b / n, shallow=False)
    ]
    return diffs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path, help="output package directory, e.g. adapters/pb")
    parser.add_argument("--check", action="store_true", help="fail if regeneration differs")
    args = parser.parse_args(argv)
    out = args.out if args.out.is_absolute() else ROOT / args.out
    if not args.check:
        if out.exists():
            shutil.rmtree(out)
        generate(out)
        print(f"generated protobuf code in {out}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "pb"
        generate(fresh)
        diffs = _differences(out, fresh)
    if diffs:
        print("generated protobuf code is stale; run `make proto`:", file=sys.stderr)
        for line in diffs:
            print(f"  {line}", file=sys.stderr)
        return 1
    print("generated protobuf code is up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
