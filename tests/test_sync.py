import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from ingest.sync import sync
from kb.errors import ModelMismatchError
from kb.settings import Settings
from kb.store import open_store
from tests.helpers import assert_chunk_offsets, write_html, write_markdown

ROOT = Path(__file__).resolve().parents[1]


def _corpus(folder: Path, n: int = 3) -> list[Path]:
    return [
        write_markdown(
            folder / f"doc{i}.md",
            f"Document {i}",
            f"## Part\n\nTopic {i} is about the river number {i}. It flows east.",
        )
        for i in range(n)
    ]


def _chunks_by_source(settings: Settings, embedder) -> dict[str, set[str]]:
    return {s: set(r.ids) for s, r in open_store(settings, embedder).sources().items()}


def test_second_run_embeds_nothing(tmp_path: Path, fake_embedder):
    settings = Settings(home=tmp_path / "h")
    _corpus(tmp_path / "docs")
    first = sync([tmp_path / "docs"], settings, embedder=fake_embedder)
    assert (first.added, first.failed) == (3, []) and first.embedded == first.chunks > 0
    second = sync([tmp_path / "docs"], settings, embedder=fake_embedder)
    assert (second.added, second.updated, second.unchanged, second.removed, second.embedded) == (0, 0, 3, 0, 0)


def test_changed_file_replaces_only_its_chunks_and_deleted_file_goes(tmp_path: Path, fake_embedder):
    settings = Settings(home=tmp_path / "h")
    docs = _corpus(tmp_path / "docs")
    sync([tmp_path / "docs"], settings, embedder=fake_embedder)
    before = _chunks_by_source(settings, fake_embedder)
    write_markdown(docs[0], "Document 0", "## Part\n\nTopic 0 now concerns a mountain instead. It is tall.")
    docs[2].unlink()
    report = sync([tmp_path / "docs"], settings, embedder=fake_embedder)
    assert (report.updated, report.unchanged, report.removed) == (1, 1, 1)
    after = _chunks_by_source(settings, fake_embedder)
    changed, same, gone = (str(p.resolve()) for p in docs)
    assert after[same] == before[same]
    assert after[changed] != before[changed]
    assert gone not in after
    store = open_store(settings, fake_embedder)
    texts = " ".join(c.text for c in store.all_chunks())
    assert "mountain" in texts and "river number 0" not in texts


def test_offsets_follow_an_edit_above_unchanged_text(tmp_path: Path, fake_embedder):
    settings = Settings(home=tmp_path / "h")
    path = write_markdown(tmp_path / "d.md", "D", "## A\n\nFirst.\n\n## B\n\nThe stable sentence stays put.")
    sync([path], settings, embedder=fake_embedder)
    write_markdown(
        path, "D", "## A\n\nFirst, now with many more words in it.\n\n## B\n\nThe stable sentence stays put."
    )
    sync([path], settings, embedder=fake_embedder)
    from ingest.loaders import load

    assert_chunk_offsets(load(path).text, open_store(settings, fake_embedder).all_chunks())


def test_corrupt_file_is_reported_and_the_rest_lands(tmp_path: Path, fake_embedder):
    settings = Settings(home=tmp_path / "h")
    _corpus(tmp_path / "docs", 2)
    write_html(tmp_path / "docs" / "page.html")
    (tmp_path / "docs" / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (tmp_path / "docs" / "empty.txt").write_bytes(b"")
    (tmp_path / "docs" / "sheet.xlsx").write_bytes(b"x")
    report = sync([tmp_path / "docs", tmp_path / "missing.md"], settings, embedder=fake_embedder)
    assert report.added == 3
    failed = {Path(f["path"]).name: f["error"] for f in report.failed}
    assert set(failed) == {"broken.pdf", "empty.txt", "sheet.xlsx", "missing.md"}
    assert failed["broken.pdf"].startswith("corrupt PDF")
    assert len(_chunks_by_source(settings, fake_embedder)) == 3


def test_a_corrupted_update_keeps_the_old_version(tmp_path: Path, fake_embedder):
    settings = Settings(home=tmp_path / "h")
    path = write_markdown(tmp_path / "d.md", "D", "The harbour opens at dawn.")
    sync([path], settings, embedder=fake_embedder)
    path.write_bytes(b"\x00\x00binary now")
    report = sync([path], settings, embedder=fake_embedder)
    assert report.failed and report.chunks == 1
    assert "harbour" in open_store(settings, fake_embedder).all_chunks()[0].text


def test_model_mismatch_is_refused_with_advice(tmp_path: Path, fake_embedder):
    settings = Settings(home=tmp_path / "h")
    sync([write_markdown(tmp_path / "d.md", "D", "Some text here.")], settings, embedder=fake_embedder)
    from tests.fakes import HashEmbedder

    other = HashEmbedder(name="other/model")
    with pytest.raises(ModelMismatchError, match="--reset"):
        open_store(settings, other)
    report = sync([tmp_path / "d.md"], settings, embedder=other, reset=True)
    assert report.added == 1


_KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from kb.store import Store
    from kb.settings import Settings
    from ingest.sync import sync

    real = Store.{method}
    calls = {{"n": 0}}

    def crash(self, *args, **kwargs):
        real(self, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] == {after}:
            os.kill(os.getpid(), signal.SIGKILL)

    Store.{method} = crash
    sync([Path(sys.argv[1])], Settings(home=Path(sys.argv[2])))
    """
)


def _run_killed(folder: Path, home: Path, method: str, after: int) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", _KILLER.format(method=method, after=after), str(folder), str(home)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc.returncode


@pytest.mark.slow
def test_killed_first_ingest_leaves_a_consistent_store_and_the_next_run_completes(tmp_path: Path, embedder):
    folder = tmp_path / "docs"
    for i in range(40):
        body = " ".join(f"Item {i}-{j} describes warehouse shelf {j} in aisle {i}." for j in range(40))
        write_markdown(folder / f"doc{i:02d}.md", f"Doc {i}", body)
    home = tmp_path / "h"
    assert _run_killed(folder, home, "upsert", after=1) == -signal.SIGKILL
    settings = Settings(home=home)
    store = open_store(settings, embedder)
    partial = store.count()
    assert 0 < partial < 600
    assert all(c.text for c in store.all_chunks())  # every stored chunk is whole
    report = sync([folder], settings, embedder=embedder)
    assert report.failed == [] and report.added + report.unchanged == 40
    assert report.embedded == report.chunks - partial


@pytest.mark.slow
def test_killed_between_upsert_and_delete_keeps_old_searchable_then_heals(tmp_path: Path, embedder):
    folder = tmp_path / "docs"
    path = write_markdown(folder / "d.md", "D", "The ferry to Jeju leaves at nine.")
    home = tmp_path / "h"
    settings = Settings(home=home)
    sync([folder], settings, embedder=embedder)
    write_markdown(path, "D", "The ferry to Ulleungdo leaves at ten.")
    assert _run_killed(folder, home, "upsert", after=1) == -signal.SIGKILL
    texts = " ".join(c.text for c in open_store(settings, embedder).all_chunks())
    assert "Jeju" in texts and "Ulleungdo" in texts  # new stored, old not yet deleted: nothing lost
    report = sync([folder], settings, embedder=embedder)
    assert (report.updated, report.embedded) == (1, 0)
    texts = " ".join(c.text for c in open_store(settings, embedder).all_chunks())
    assert "Ulleungdo" in texts and "Jeju" not in texts


def test_cli_ingest_json_and_exit_codes(tmp_path: Path, embedder):
    _corpus(tmp_path / "docs", 2)
    runner = CliRunner()
    ok = runner.invoke(app, ["ingest", str(tmp_path / "docs"), "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout) == {"added": 2, "updated": 0, "unchanged": 0, "removed": 0, "chunks": 2, "failed": []}
    (tmp_path / "docs" / "bad.pdf").write_bytes(b"nope")
    bad = runner.invoke(app, ["ingest", str(tmp_path / "docs"), "--json"])
    assert bad.exit_code == 2
    out = json.loads(bad.stdout)
    assert out["unchanged"] == 2 and out["failed"][0]["path"].endswith("bad.pdf")
    assert "Traceback" not in bad.output
