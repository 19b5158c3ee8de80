from __future__ import annotations

from pathlib import Path

import pytest

from pseudolink.config import Config, load_config, to_uri
from pseudolink.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_local_profile_loads_with_root_under_data(repo, monkeypatch):
    monkeypatch.chdir(repo)
    config = load_config(repo / "conf" / "local.yaml")
    assert isinstance(config, Config)
    assert config.profile == "local"
    assert config.root == (repo / "data").as_uri()
    assert config.zone("bronze") == (repo / "data" / "bronze").as_uri()
    assert config.spark.shuffle_partitions == 8
    assert config.conf_dir == repo / "conf"


def test_root_override_accepts_paths_and_uris(repo, tmp_path):
    local = load_config(repo / "conf" / "local.yaml", root=str(tmp_path / "scratch"))
    assert local.root == (tmp_path / "scratch").as_uri()
    remote = load_config(repo / "conf" / "local.yaml", root="s3a://bucket/pseudolink/")
    assert remote.root == "s3a://bucket/pseudolink"
    assert remote.zone("release") == "s3a://bucket/pseudolink/release"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "profile: x\nroot: d\nspark:\n  shuffle_partitions: eight\n",
            "key 'spark.shuffle_partitions': expected an integer, got 'eight' (str)",
        ),
        (
            "profile: x\nroot: d\nspark:\n  shufle_partitions: 4\n",
            "unknown key 'spark.shufle_partitions' (expected one of: app_name, extra, "
            "shuffle_partitions)",
        ),
        ("profile: x\n", "missing key 'root' (expected a string)"),
        (
            "profile: x\nroot: d\nspark:\n  shuffle_partitions: 0\n",
            "key 'spark.shuffle_partitions': expected at least 1, got 0",
        ),
        ("profile: x\nroot: d\nspark: [1, 2]\n", "key 'spark': expected a mapping of keys"),
        (
            "profile: x\nroot: d\nspark:\n  extra:\n    a: [1]\n",
            "key 'spark.extra.a': expected a string, got [1] (list)",
        ),
        ("profile: [x\n", "line 2 is not valid YAML"),
        ("- just\n- a list\n", "the file: expected a mapping of keys"),
    ],
)
def test_bad_config_names_file_key_and_expectation(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}:")
    assert message in str(info.value)


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_to_uri_keeps_schemes_and_makes_paths_absolute(tmp_path):
    assert to_uri("hdfs://nn:8020/data") == "hdfs://nn:8020/data"
    assert to_uri("rel/dir", base=tmp_path) == (tmp_path / "rel" / "dir").as_uri()
