"""``daybook images``: the start order it derives from compose.yaml, and the local base's cache key.
(CI runs ``daybook images build`` and ``daybook images test`` for real.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from daybook_deploy import images

ROOT = Path(__file__).resolve().parents[2]


def test_every_service_starts_after_what_it_depends_on() -> None:
    order = images.start_order(ROOT / "compose.yaml")
    names = [name for name, _ in order]
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    assert set(names) == {name for name, spec in services.items() if not spec.get("profiles")}
    assert "tests" not in names
    for name, depends in order:
        for dependency, condition in depends.items():
            assert names.index(dependency) < names.index(name), (name, dependency)
            assert condition == services[name]["depends_on"][dependency]["condition"]
    assert names.index("users-migrate") < names.index("users") < names.index("gateway")


def test_a_cycle_is_refused(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        yaml.safe_dump({"services": {"a": {"depends_on": ["b"]}, "b": {"depends_on": {"a": {}}}}})
    )
    with pytest.raises(images.ImagesError, match="cycle"):
        images.start_order(compose)


def test_the_base_tag_follows_its_inputs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tag = images.base_tag()
    assert tag.startswith("daybook/base:") and tag == images.base_tag()
    monkeypatch.setitem(images.BASE_RECIPE, "version", -1)
    assert images.base_tag() != tag
    monkeypatch.undo()

    extra, bundle = tmp_path / "extra", tmp_path / "bundle.crt"
    (extra / "proxy").mkdir(parents=True)
    (extra / "proxy" / "proxy.crt").write_text("an extra CA")
    bundle.write_text("bundle one")
    monkeypatch.setattr(images, "HOST_EXTRA_CAS", extra)
    monkeypatch.setattr(images, "HOST_CA_BUNDLE", bundle)
    first = images.base_tag()
    bundle.write_text("bundle two")  # the host trusts another CA: a new base
    assert images.base_tag() != first
