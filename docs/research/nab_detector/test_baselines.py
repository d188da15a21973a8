"""Unit tests of the per-series detector on hand-made series (run: python -m pytest -q)."""

import numpy as np
import pytest

from baselines import DetectorConfig, detect, run_position, score, seasonal_center

CFG = DetectorConfig()


def incident_count(frame):
    return int(frame["incident_id"].max() + 1) if frame["incident"].any() else 0


def test_step_of_30_buckets_stays_flagged_and_is_one_incident():
    rng = np.random.default_rng(1)
    x = 100 + rng.normal(0, 1, 900)
    x[600:630] += 20
    out = detect(x, 60, CFG)
    assert out["flagged"].iloc[600:630].all()
    assert out["incident"].iloc[600:630].all()
    assert incident_count(out) == 1
    # after the step the baseline is the old level, not inflated by the step
    assert abs(out["center"].iloc[700] - 100) < 1


def test_permanent_level_shift_becomes_the_new_normal():
    rng = np.random.default_rng(2)
    x = 100 + rng.normal(0, 1, 4000)
    x[1500:] += 20
    out = detect(x, 60, CFG)
    assert out["flagged"].iloc[1500]
    assert not out["flagged"].iloc[3500:].any()
    assert abs(out["center"].iloc[3900] - 120) < 1


def test_clean_daily_cycle_gives_no_flag():
    rng = np.random.default_rng(3)
    n = 288 * 6  # six days of 5-minute buckets
    t = np.arange(n)
    x = 100 + 50 * np.sin(2 * np.pi * t / 288) + rng.normal(0, 1, n)
    out = detect(x, 300, CFG)
    assert not out["flagged"].any()


def test_flagged_points_do_not_enter_later_baselines():
    rng = np.random.default_rng(4)
    x = 10 + rng.normal(0, 1, 800)
    spiked = x.copy()
    spiked[500:505] = 60.0
    out = detect(spiked, 60, CFG)
    assert out["flagged"].iloc[500:505].all()
    gap = x.copy()
    gap[500:505] = np.nan
    ref = detect(gap, 60, CFG)
    np.testing.assert_allclose(out["center"].iloc[505:], ref["center"].iloc[505:])
    np.testing.assert_allclose(out["spread"].iloc[505:], ref["spread"].iloc[505:])


def test_scored_point_is_never_in_its_own_baseline():
    rng = np.random.default_rng(5)
    x = 50 + rng.normal(0, 2, 600)
    for i in (100, 333, 599):
        y = x.copy()
        y[i] = 1e6
        a, b = score(x, 60, CFG), score(y, 60, CFG)
        np.testing.assert_array_equal(a["center"][: i + 1], b["center"][: i + 1])
        np.testing.assert_array_equal(a["spread"][: i + 1], b["spread"][: i + 1])
        assert b["flagged"][i]


def test_pure_spiky_noise_does_not_flood():
    rng = np.random.default_rng(6)
    n = 4000
    x = rng.normal(0, 1, n)
    spikes = rng.random(n) < 0.03
    x[spikes] += rng.exponential(20, spikes.sum())
    out = detect(x, 300, CFG)
    # 120 spikes in the series; the detector learns they are routine
    assert incident_count(out) <= 10


def test_zero_heavy_counts_do_not_explode():
    rng = np.random.default_rng(7)
    x = rng.poisson(0.3, 4000).astype(float)
    out = detect(x, 300, CFG)
    z = out["z"].to_numpy()
    assert np.all(np.isfinite(z[~np.isnan(z)]))
    assert np.nanmax(np.abs(z)) < 50
    assert (out["spread"].dropna() > 0).all()
    assert incident_count(out) <= 5


def test_missing_buckets_are_not_scored_and_do_not_break_runs():
    rng = np.random.default_rng(8)
    x = 100 + rng.normal(0, 1, 900)
    x[600:630] += 20
    x[610] = np.nan
    out = detect(x, 60, CFG)
    assert np.isnan(out["z"].iloc[610]) and not out["flagged"].iloc[610]
    assert incident_count(out) == 1


def test_warm_up_is_not_scored():
    x = np.arange(5, dtype=float)
    out = detect(x, 60, CFG)
    assert out["z"].isna().all() and not out["flagged"].any()


def test_run_position():
    f = np.array([0, 1, 1, 0, 1, 1, 1], bool)
    assert run_position(f).tolist() == [0, 1, 2, 0, 1, 2, 3]


def test_seasonal_center_uses_previous_periods_only():
    x = np.arange(20, dtype=float)
    sc = seasonal_center(x, 5, 3, 1)
    assert np.isnan(sc[:5]).all()
    assert sc[5] == 0 and sc[19] == 9  # median of 14, 9, 4
