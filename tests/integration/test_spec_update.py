"""`make spec SPEC=FILE` (tools/spec_update.py): a newer spec's changes are listed as catalog rows
to add, remove or edit, and the query parameters are regenerated from it."""
import copy
import json
import os
import subprocess
import sys

from harness import ROOT

TOOL = os.path.join(ROOT, "tools", "spec_update.py")
SPEC = os.path.join(ROOT, "spec", "supabase-management-api-v1.openapi.json")


def run(path, *flags):
    return subprocess.run([sys.executable, TOOL, path, *flags], capture_output=True, text=True, cwd=ROOT)


def test_the_shipped_spec_needs_no_change():
    r = run(SPEC, "--check")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 catalog change(s); 169 operations" in r.stdout


def test_a_newer_spec_shows_each_change(tmp_path):
    spec = json.load(open(SPEC))
    new = copy.deepcopy(spec)
    new["paths"]["/v1/projects/{ref}/widgets"] = {"get": {
        "operationId": "v1-list-widgets", "responses": {"200": {"description": "ok"}},
        "security": [{"fga_permissions": ["edge_functions_read"]}]}}
    del new["paths"]["/v1/projects/{ref}/pause"]
    new["paths"]["/v1/projects/{ref}/functions"]["get"]["security"] = [{"fga_permissions": ["edge_functions_write"]}]
    path = tmp_path / "new.json"
    path.write_text(json.dumps(new))
    r = run(str(path), "--check")
    assert r.returncode == 1
    assert 'add:    GET /v1/projects/{ref}/widgets' in r.stdout
    assert 'ep("list_widgets", Get, "/v1/projects/{ref}/widgets", Area::EdgeFunctions, &["edge_functions_read"]' in r.stdout
    assert "remove: POST /v1/projects/{ref}/pause (pause_project)" in r.stdout
    assert "change: list_functions" in r.stdout and "edge_functions_write" in r.stdout
    assert "3 catalog change(s)" in r.stdout
