"""ras_calculate without a policy in the file uses the policy in force today."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_uses_the_policy_in_force_today(tmp_path, policy, capsys):
    source = tmp_path / "in.json"
    source.write_text(
        json.dumps(
            {"cases": [{"ref": "A", "points": ["10", "12", "18"], "client_group": "older_people"}]}
        )
    )
    call_command("ras_calculate", str(source))
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert (result["gross_weekly"], result["indicative_weekly"]) == ("195.20", "180.68")


def test_no_policy_in_force_is_exit_status_2(tmp_path, db):
    source = tmp_path / "in.json"
    source.write_text(json.dumps({"cases": []}))
    with pytest.raises(CommandError) as caught:
        call_command("ras_calculate", str(source))
    assert caught.value.returncode == 2
    assert "no RAS policy is in force today" in str(caught.value)


def test_the_policy_in_force_reaches_the_engine_through_the_one_adapter(
    tmp_path, policy, capsys, monkeypatch
):
    from allocations import adapter
    from allocations.models import RasPolicy

    seen = []
    mapping = adapter.engine_policy
    monkeypatch.setattr(adapter, "engine_policy", lambda p: seen.append(p) or mapping(p))
    source = tmp_path / "in.json"
    source.write_text(json.dumps({"cases": []}))
    call_command("ras_calculate", str(source))
    assert seen == [policy]
    assert not hasattr(RasPolicy, "as_engine_policy")
