#!/usr/bin/env python3
"""`make spec SPEC=FILE`: takes a newer Supabase OpenAPI spec into the repository and shows what
it changes for the catalog.

    python3 tools/spec_update.py NEW_SPEC [--check]

It prints the operations the new spec adds or removes and the permissions that change, each as
the catalog row to add or edit in src/catalog/endpoints.rs (its area proposed from the permission,
by the same mapping the catalog uses: the area of the catalog's other rows with that permission).
Then it copies the spec to spec/ and regenerates src/catalog/query_params.rs. `--check` only
prints, and exits 1 when the catalog is not current with the spec. `tests/catalog_spec.rs` fails
until every change is in the catalog.
"""
import json
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SPEC = os.path.join(ROOT, "spec", "supabase-management-api-v1.openapi.json")
ROW = re.compile(r'ep\("([a-z0-9_]+)", (\w+), "([^"]+)", Area::(\w+), &\[([^\]]*)\]')
METHODS = ("get", "post", "put", "patch", "delete", "head")


def catalog():
    text = open(os.path.join(ROOT, "src", "catalog", "endpoints.rs")).read()
    rows = {}
    for ident, method, path, area, perms in ROW.findall(text):
        rows[(method.upper(), path)] = (ident, area, [p.strip().strip('"') for p in perms.split(",") if p.strip()])
    return rows


def operations(spec):
    out = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in METHODS or "responses" not in op:
                continue
            alternatives = [s["fga_permissions"] for s in op.get("security", []) if "fga_permissions" in s]
            out[(method.upper(), path)] = (op.get("operationId", ""), alternatives)
    return out


def snake(operation_id):
    name = re.sub(r"^v1-", "", operation_id).replace("-", "_").replace(" ", "_").lower()
    return re.sub(r"[^a-z0-9_]", "", name)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    check = "--check" in sys.argv
    if len(args) != 1:
        sys.exit(__doc__)
    new = json.load(open(args[0]))
    rows = catalog()
    area_of = {}
    for _, area, perms in rows.values():
        for p in perms:
            area_of.setdefault(p, area)
    ops = operations(new)
    changes = 0
    for key in sorted(set(ops) - set(rows)):
        op_id, alternatives = ops[key]
        perms = alternatives[0] if alternatives else []
        area = next((area_of[p] for p in perms if p in area_of), "REVIEW")
        quoted = ", ".join(f'"{p}"' for p in perms)
        print(f"add:    {key[0]} {key[1]}\n        ep(\"{snake(op_id)}\", {key[0].title()}, \"{key[1]}\", "
              f"Area::{area}, &[{quoted}], \"ACTION\", false),")
        changes += 1
    for key in sorted(set(rows) - set(ops)):
        print(f"remove: {key[0]} {key[1]} ({rows[key][0]}): no longer in the spec")
        changes += 1
    for key in sorted(set(rows) & set(ops)):
        ident, _, perms = rows[key]
        alternatives = ops[key][1]
        if (alternatives or perms) and sorted(perms) not in [sorted(a) for a in alternatives]:
            print(f"change: {ident} ({key[0]} {key[1]}): catalog {perms}, spec {alternatives}")
            changes += 1
    print(f"{changes} catalog change(s); {len(ops)} operations in the new spec, {len(rows)} in the catalog")
    if check:
        sys.exit(1 if changes else 0)
    if os.path.abspath(args[0]) != SPEC:
        shutil.copyfile(args[0], SPEC)
    with open(os.path.join(ROOT, "src", "catalog", "query_params.rs"), "w") as f:
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen_query_params.py"), SPEC], check=True,
                       stdout=f, cwd=ROOT)
    print(f"spec/ updated; src/catalog/query_params.rs regenerated. Next: apply the rows above, then "
          f"`make docs` and `make test`.")


if __name__ == "__main__":
    main()
