"""`precert demo load`: the demo queue, how to sign in (the authenticator URI shown once), and a
second run that adds nothing."""

from __future__ import annotations

from tests.e2e.cli.conftest import Precert


def test_demo_load_prints_how_to_sign_in_once_and_a_second_run_adds_nothing(
    precert: Precert,
) -> None:
    first = precert("demo", "load")

    assert first.code == 0, first
    assert "Demo data loaded into 'Demo Clinic': 41 synthetic requests" in first.out
    assert "Sign in at http://127.0.0.1:8000/login as:" in first.out
    for email in ("admin@", "specialist@", "biller@", "viewer@"):
        assert f"{email}demo.example" in first.out
    assert "password demo-clinic-password" in first.out
    assert "otpauth://totp/precert:specialist%40demo.example?secret=" in first.out
    assert "The code right now is " in first.out

    second = precert("demo", "load")

    assert second.code == 0, second
    assert "Demo data already loaded in 'Demo Clinic' (41 requests); nothing added." in second.out
    assert "otpauth://" not in second.out
    assert "signs in with the authenticator app set up when the demo was first loaded" in second.out
