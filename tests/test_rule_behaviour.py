"""What a rule says beyond its message, checked where the rule cases cannot: a case compares each finding's anchor
and message, not the hint printed under it. benchmarks/mutation.py runs the tests here whose name holds the rule's
code (`-k ck108`) after the rule's cases."""

from __future__ import annotations

from chatkit_fix.codemods import ck108_endpoint_url_mismatch as ck108
from chatkit_fix.testing import check_rules, write_files


def _hints(root, files: dict[str, str], code: str) -> list[str]:
    write_files(root, files)
    return [finding.hint for finding in check_rules(root, {code}).findings if finding.code == code]


def test_ck108_hint_names_the_one_route_to_point_at(tmp_path):
    files = ck108._project('export const CHATKIT_URL = "http://127.0.0.1:8000/chat";\n')
    assert _hints(tmp_path, files, "CK108") == ["point api.url at /api/chatkit"]


def test_ck108_hint_lists_every_route_when_there_are_several(tmp_path):
    backend = ck108.BACKEND.replace('@router.post("/chatkit")', '@router.post("/chatkit")\n@router.post("/v2/chatkit")')
    files = ck108._project('export const CHATKIT_URL = "http://localhost:8000/chatkit";\n', backend)
    assert _hints(tmp_path, files, "CK108") == ["point api.url at one of /api/chatkit, /api/v2/chatkit"]
