"""One tag run's surroundings: where MinIO partitions are staged for a local Spark."""

from yd_platform.tags.wiring.run import staging_root


def test_staging_root_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("YD_TAGS_STAGING_DIR", raising=False)
    assert staging_root() is None
    monkeypatch.setenv("YD_TAGS_STAGING_DIR", str(tmp_path / "shared" / "stage"))
    assert staging_root() == str(tmp_path / "shared" / "stage")
    assert (tmp_path / "shared" / "stage").is_dir()
