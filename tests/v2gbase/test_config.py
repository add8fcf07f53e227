import dataclasses
import enum

import pytest

from v2gbase.config import load_dataclass


class BadConfig(Exception):
    pass


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


@dataclasses.dataclass
class Settings:
    name: str = "x"
    mode: Mode = Mode.FAST


@pytest.mark.parametrize("suffix, content", [
    (".toml", b"\xff\xfe not utf-8"),
    (".json", b"[1, 2, 3]"),
    (".toml", b'mode = "turbo"'),
    (".json", b'{"mode": 7}'),
    (".toml", b"name = "),
])
def test_bad_config_files_raise_the_callers_error_type(tmp_path, suffix, content):
    path = tmp_path / f"settings{suffix}"
    path.write_bytes(content)
    with pytest.raises(BadConfig):
        load_dataclass(Settings, path, BadConfig)


def test_missing_file_raises_the_callers_error_type(tmp_path):
    with pytest.raises(BadConfig, match="settings.toml"):
        load_dataclass(Settings, tmp_path / "settings.toml", BadConfig)


def test_enum_by_name_or_value(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('mode = "SLOW"\nname = "a"')
    assert load_dataclass(Settings, path, BadConfig) == Settings(name="a", mode=Mode.SLOW)
    path = tmp_path / "s.json"
    path.write_text('{"mode": "slow"}')
    assert load_dataclass(Settings, path, BadConfig).mode is Mode.SLOW
