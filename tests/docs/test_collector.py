"""How the docs test reads a page: which blocks are samples, their marks and line numbers."""

from __future__ import annotations

from pathlib import Path

from tests.docs.samples import python_source, samples, shell_script

PAGE = """# A page

<!-- not-run: serves until stopped -->
```sh
hookwise serve
```

```console
$ curl -s $BASE/healthz
{"status": "ok"}
```

<!-- example: examples/send_events.py -->
```python
print("quoted")
```

```json
{"not": "a sample"}
```

  ```bash
  export KEY=hwk_…   # yours
  curl -s localhost:8000/v1/apps
  ```
"""


def test_blocks_marks_and_lines(tmp_path: Path) -> None:
    doc = tmp_path / "page.md"
    doc.write_text(PAGE)
    found = samples(doc)
    assert [(s.lang, s.mark, s.line) for s in found] == [
        ("sh", "not-run", 5),
        ("console", "", 9),
        ("python", "example", 15),
        ("bash", "", 23),
    ]
    assert found[0].note == "serves until stopped" and found[2].note == "examples/send_events.py"
    assert found[1].code == "curl -s $BASE/healthz\n\n"  # output lines are not commands
    assert python_source(found[2], "http://x").count("\n") == 15  # padded to the doc's lines


def test_the_script_takes_the_servers_address_and_key_and_maps_lines(tmp_path: Path) -> None:
    doc = tmp_path / "page.md"
    doc.write_text(PAGE)
    shell = [s for s in samples(doc) if s.shell and not s.mark]
    script, where = shell_script(shell, "http://127.0.0.1:9", "hwk_test")
    lines = script.splitlines()
    assert "export KEY=hwk_test   # yours" in lines
    assert "curl -s 127.0.0.1:9/v1/apps" in lines
    n = lines.index("curl -s 127.0.0.1:9/v1/apps") + 1
    assert where[n] == f"{doc}:24"
