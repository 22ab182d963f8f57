#!/usr/bin/env python3
"""ctest entry: src/baimo keeps the one-way flow, and the checker does catch an upward include."""
import pathlib
import subprocess
import sys
import tempfile

here = pathlib.Path(__file__).resolve().parent
checker = here / "check_layers.py"

with tempfile.TemporaryDirectory() as tmp:
    for module, text in {"model": '#include "baimo/serve/api_server.h"\n',
                         "serve": '#include "baimo/model/config.h"\n'}.items():
        (pathlib.Path(tmp) / module).mkdir()
        (pathlib.Path(tmp) / module / "x.cpp").write_text(text)
    bad = subprocess.run([sys.executable, checker, tmp], capture_output=True, text=True)
    if bad.returncode != 1 or "model -> serve" not in bad.stdout or "serve -> model" in bad.stdout:
        sys.exit(f"the checker missed an upward include or flagged a downward one:\n{bad.stdout}")

sys.exit(subprocess.run([sys.executable, checker, here.parents[1] / "src/baimo"]).returncode)
