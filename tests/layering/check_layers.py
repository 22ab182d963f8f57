#!/usr/bin/env python3
"""The one-way flow of src/baimo (DESIGN.md, "Layout"): a module may include only itself and the
modules listed before it. Unit tests (*_test.cpp) may include anything: they are not the library.
Prints every violation as file:line: module -> module and exits 1 if there is one."""
import pathlib
import re
import sys

ORDER = ["util", "tensor", "kernels", "io", "quant", "autograd", "nn", "tokenizer", "model",
         "convert", "data", "infer", "train", "compress", "eval", "serve", "recipe", "cli"]
RANK = {m: i for i, m in enumerate(ORDER)}
INCLUDE = re.compile(r'^\s*#\s*include\s+"baimo/([a-z_0-9]+)/')


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parents[2] / "src/baimo")
    bad = []
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".h", ".cpp", ".inc") or path.name.endswith("_test.cpp"):
            continue
        module = path.relative_to(root).parts[0]
        if module not in RANK:
            bad.append(f"{path}: folder '{module}' is not in the layer order {ORDER}")
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = m.group(1)
            if target not in RANK:
                bad.append(f"{path}:{n}: includes unknown module '{target}'")
            elif RANK[target] > RANK[module]:
                bad.append(f"{path}:{n}: {module} -> {target} (a lower module includes an upper one)")
    for b in bad:
        print(b)
    print(f"layers: {len(bad)} violation(s) in {root}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
