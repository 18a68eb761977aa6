"""Bad bus options and an unreachable or unhelpful broker: one line, a non-zero exit, no run file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import WORLDS, assert_one_line_error
from tests.sim.bus.conftest import Mosquitto, free_port

TWO_ROOMS = str(WORLDS / "two_rooms.yaml")


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("http://localhost:1883", "unknown scheme 'http'"),
        ("localhost:1883", "unknown scheme"),
        ("mqtt://", "no host"),
        ("mqtt://localhost:99999", "not a number from 1 to 65535"),
        ("mqtt://localhost:port", "not a number from 1 to 65535"),
        ("mqtt://localhost:1883/hamlet", "unexpected /hamlet"),
    ],
)
def test_a_malformed_mqtt_url_is_one_line_naming_the_url_and_the_form_to_use(
    tmp_path: Path, hamlet, url: str, needle: str
) -> None:
    run = tmp_path / "r.db"
    result = hamlet("run", TWO_ROOMS, "--llm", "scripted", "--out", run, "--mqtt", url)
    assert_one_line_error(result, f"--mqtt {url}", needle, "mqtt://[user:pass@]host:port")
    assert not run.exists()


def test_a_password_in_a_malformed_url_is_not_echoed(hamlet) -> None:
    result = hamlet("run", TWO_ROOMS, "--llm", "scripted", "--mqtt", "mqtp://ann:s3cret@localhost:1883")
    assert_one_line_error(result, "--mqtt mqtp://ann:***@localhost:1883")
    assert "s3cret" not in result.err


def test_an_unreachable_broker_at_the_start_is_one_line_and_writes_no_run(tmp_path: Path, hamlet) -> None:
    run = tmp_path / "r.db"
    url = f"mqtt://127.0.0.1:{free_port()}"
    result = hamlet("run", TWO_ROOMS, "--llm", "scripted", "--out", run, "--mqtt", url)
    assert_one_line_error(result, f"--mqtt {url}", "cannot connect to the broker", "refused")
    assert not run.exists()


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--mqtt-ca", "ca.crt"], ["--mqtt-ca", "only with --mqtt"]),
        (["--mqtt", "mqtt://localhost:1", "--mqtt-cert", "c.crt"], ["--mqtt-cert and --mqtt-key: give both"]),
        (["--mqtt", "mqtt://localhost:1", "--mqtt-ca", "missing.crt"], ["--mqtt-ca missing.crt: no such file"]),
    ],
)
def test_bus_options_that_do_not_fit_together_are_one_line(
    tmp_path: Path, hamlet, args: list[str], needles: list[str]
) -> None:
    run = tmp_path / "r.db"
    result = hamlet("run", TWO_ROOMS, "--llm", "scripted", "--out", run, *args)
    assert_one_line_error(result, *needles)
    assert not run.exists()


@pytest.mark.slow
def test_a_run_over_tls_with_a_client_certificate_is_published(tls_broker: Mosquitto, tmp_path: Path, hamlet) -> None:
    folder = tls_broker.folder
    subscriber = tls_broker.subscribe(tmp_path / "sub.txt")
    run = tmp_path / "tls.db"
    result = hamlet(
        "run",
        TWO_ROOMS,
        "--llm",
        "scripted",
        "--hours",
        "3",
        "--out",
        run,
        "--quiet",
        "--mqtt",
        tls_broker.url(),
        "--mqtt-ca",
        folder / "ca.crt",
        "--mqtt-cert",
        folder / "client.crt",
        "--mqtt-key",
        folder / "client.key",
    )
    assert result.code == 0, result.err
    subscriber.wait_for(lambda s: any(t == "hamlet/tls/status" and d["status"] == "finished" for t, d in s.messages()))
    assert len(subscriber.events("tls")) > 10
    without = hamlet(
        "run",
        TWO_ROOMS,
        "--llm",
        "scripted",
        "--out",
        tmp_path / "no.db",
        "--mqtt",
        tls_broker.url(),
        "--mqtt-ca",
        folder / "ca.crt",
    )
    assert_one_line_error(without, "cannot connect to the broker")
    assert not (tmp_path / "no.db").exists()
