from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tokenergy.errors import ConfigError
from tokenergy.sim.profiles import (
    load_profile,
    profile_names,
    read_profile,
    with_max_num_seqs,
    write_profile,
)


def test_packaged_profiles_load_and_round_trip(tmp_path: Path) -> None:
    assert {"llama-3.1-8b-h100", "llama-3.1-70b-h100x4"} <= set(profile_names())
    for name in profile_names():
        profile = load_profile(name)
        path = tmp_path / f"{name}.yaml"
        write_profile(profile, path)
        assert read_profile(path) == profile
        assert load_profile(str(path)) == profile


def test_batch_cap_override_keeps_everything_else() -> None:
    profile = load_profile("llama-3.1-8b-h100")
    capped = with_max_num_seqs(profile, 8)
    assert capped.scheduler.max_num_seqs == 8
    assert capped.scheduler.kv_cache_tokens == profile.scheduler.kv_cache_tokens
    assert capped.step == profile.step and capped.power == profile.power


def test_bad_profile_names_file_and_field(tmp_path: Path) -> None:
    data = load_profile("llama-3.1-8b-h100").model_dump(mode="json")
    data["step"]["base_s"] = -1
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as caught:
        read_profile(path)
    assert caught.value.file == str(path) and caught.value.field == "step.base_s"


def test_kv_cache_must_hold_one_full_request(tmp_path: Path) -> None:
    data = load_profile("llama-3.1-8b-h100").model_dump(mode="json")
    data["scheduler"]["kv_cache_tokens"] = 100
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="kv_cache_tokens"):
        read_profile(path)


def test_unknown_profile_lists_packaged_ones() -> None:
    with pytest.raises(ConfigError, match=r"llama-3\.1-8b-h100"):
        load_profile("no-such-profile")
