"""The reader of hand-written JSON/TOML files: parsed content, or one line naming the file and the fix."""
import pytest

from imukin.errors import ImukinError
from imukin.io.config_files import read_config_file


def test_json_and_toml_by_suffix(tmp_path):
    (tmp_path / "m.json").write_text('{"rthigh": "a.csv"}')
    (tmp_path / "m.toml").write_text('rthigh = "a.csv"\n[method]\nkind = "rigid"\n')
    assert read_config_file(tmp_path / "m.json", "sensor map", "fix") == {"rthigh": "a.csv"}
    assert read_config_file(tmp_path / "m.toml", "sensor map", "fix") == {"rthigh": "a.csv",
                                                                           "method": {"kind": "rigid"}}


@pytest.mark.parametrize("name, text, fmt", [("m.json", "{rthigh: a}", "JSON"), ("m.toml", "rthigh = ", "TOML")])
def test_broken_or_missing_files_give_one_line_with_the_fix(tmp_path, name, text, fmt):
    (tmp_path / name).write_text(text)
    with pytest.raises(ImukinError, match=f"sensor map .*{name} is not valid {fmt} .*; write it so") as e:
        read_config_file(tmp_path / name, "sensor map", "write it so")
    assert "\n" not in str(e.value)
    with pytest.raises(ImukinError, match="mounting file .*nope.json does not exist; pass one"):
        read_config_file(tmp_path / "nope.json", "mounting file", "pass one")
