from __future__ import annotations

from tokenergy.report.numbers import count, ms, pct, si, sig, tick


def test_numbers_are_human() -> None:
    assert [sig(v) for v in (0.000421, 0.1234, 12.34, 9.996, 109_200.0)] == [
        "0.000421",
        "0.123",
        "12.3",
        "10.0",
        "109,200",
    ]
    assert si(109_200, "W") == "109 kW" and si(320.4, "W") == "320 W"
    assert count(2150.0) == "2,150" and count(None) == "—"
    assert ms(0.0234) == "23.4" and pct(0.2) == "+20.0%"
    assert [tick(v) for v in (0.6, 0.05, 20.0, 1500.0, 2e6)] == ["0.6", "0.05", "20", "1.5k", "2M"]
