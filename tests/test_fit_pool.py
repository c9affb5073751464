"""Models fitted side by side in worker processes (``fit_pool``): same posteriors, progress
relayed, errors named, never a pool inside a pool. Real spawned workers, real fits (tiny
sampler settings), no module swapped."""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from types import SimpleNamespace

import numpy as np
import pytest

from partner_forecast.fit_pool import (
    FitJob,
    RelayBar,
    _Relay,
    auto_workers,
    fit_in_workers,
    fit_workers,
)
from partner_forecast.models import MODEL_CLASSES, PartnerModel
from partner_forecast.models.errors import NotEnoughDataError
from partner_forecast.workspace import Workspace, data_fingerprint, fit_all


@pytest.mark.parametrize(("cores", "models", "expected"), [
    (1, 5, 1), (2, 5, 1), (3, 5, 1), (4, 5, 2), (5, 5, 2), (8, 5, 4), (16, 5, 5), (8, 1, 1),
    (8, 0, 1)])
def test_automatic_workers_follow_the_cores(cores, models, expected):
    assert auto_workers(models, cores) == expected


def test_an_explicit_setting_is_capped_by_the_models():
    assert fit_workers(3, 5) == 3
    assert fit_workers(3, 2) == 2
    assert fit_workers(1, 5) == 1


def test_a_worker_process_never_starts_a_pool_of_its_own():
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        assert pool.submit(fit_workers, 4, 5).result() == 1
        assert pool.submit(fit_workers, 0, 5).result() == 1


def _chain(done: int, tuning: bool = False, divergent: int = 0) -> SimpleNamespace:
    return SimpleNamespace(finished_draws=done, tuning=tuning, started=True,
                           divergent_draws=list(range(divergent)))


def test_the_relay_bar_sends_progress_at_most_twice_a_second():
    q: queue.Queue = queue.Queue()
    bar = RelayBar(q, "conversion", 400)
    assert q.get_nowait() == ("bar", "conversion", 0, 400, "compiled")
    bar._sent = 0.0  # the last relay was long ago
    bar([_chain(120, tuning=True), _chain(100, tuning=True, divergent=1)])
    bar([_chain(130), _chain(110)])  # within half a second of the last: not sent
    bar.close()
    assert q.get_nowait() == ("bar", "conversion", 220, 400, "tuning, 1 divergent")
    assert q.get_nowait() == ("close", "conversion")
    assert q.empty()


def test_the_relay_passes_every_line_in_order_and_ends_after_the_last():
    q: queue.Queue = queue.Queue()
    lines: list[str] = []
    relay = _Relay(q, lines.append, bars=False)
    relay.start()
    for i in range(50):
        q.put(("say", f"line {i}"))
    q.put(("bar", "timing", 10, 100, "draws, 0 divergent"))  # no bars wanted: ignored
    relay.stop()
    assert lines == [f"line {i}" for i in range(50)]
    assert not relay.is_alive()


def test_the_relay_gives_each_sampling_model_its_own_line(capsys):
    """Bars of models sampling at once take the first free line; a closed bar frees its line."""
    q: queue.Queue = queue.Queue()
    relay = _Relay(q, lambda _m: None, bars=True)
    relay.start()
    q.put(("bar", "conversion", 0, 400, "compiled"))
    q.put(("bar", "timing", 0, 100, "compiled"))
    q.put(("bar", "conversion", 220, 400, "tuning, 1 divergent"))
    q.put(("bar", "conversion", 200, 400, "draws, 1 divergent"))  # a late message: not back
    q.put(("close", "conversion"))
    q.put(("bar", "deal_size", 0, 300, "compiled"))
    q.put(("say", "sync"))
    relay.stop()
    assert not relay.is_alive()
    err = capsys.readouterr().err
    assert "conversion: sampling" in err and "timing: sampling" in err
    assert "deal_size: sampling" in err


def _posteriors_equal(a: PartnerModel, b: PartnerModel) -> None:
    pa, pb = a.idata["posterior"].to_dataset(), b.idata["posterior"].to_dataset()
    assert set(pa.data_vars) == set(pb.data_vars)
    for name in pa.data_vars:
        # Bit-identical when the compiled code comes from the cache; a model compiled cold in
        # a worker has differed in the 9th significant digit (floating-point rounding).
        np.testing.assert_allclose(pa[name].values, pb[name].values, rtol=1e-6, atol=1e-9)


def test_models_fitted_in_workers_match_models_fitted_here(models_export, models_settings,
                                                           tmp_path):
    fp = data_fingerprint(models_export)
    ws = Workspace(tmp_path / "ws")
    names = ("deal_size", "timing")
    classes = [PartnerModel.registry[n] for n in names]
    jobs = [FitJob(cls.name, ws.path(cls, fp, models_settings)) for cls in classes]
    lines: list[str] = []
    fit_in_workers(jobs, models_export, models_settings, fp, models_settings.sampler.model_dump(),
                   2, lines.append)
    assert lines[0].startswith("fitting 2 models, 2 at a time in worker processes (timing, "
                               "deal_size)")
    for cls, job in zip(classes, jobs, strict=True):
        assert any(line.startswith(f"{cls.name}: fitted in") for line in lines)
        from_worker = cls.load(job.path, data_fingerprint=fp,
                               config_hash=cls.config_hash_from(models_settings))
        here = cls.from_export(models_export, models_settings, data_fingerprint=fp)
        here.fit(thresholds=models_settings.sampler.model_dump())
        _posteriors_equal(from_worker, here)
        assert from_worker.diagnostics.draws == here.diagnostics.draws


def test_a_workers_error_reaches_the_caller_naming_the_model(models_settings, tmp_path):
    from partner_forecast.data.export import load_export
    from partner_forecast.testing.exports import write_tiny_export

    folder = write_tiny_export(tmp_path / "tiny")
    export = load_export(folder, as_of="2020-01-01")  # before any history: nothing to learn
    fp = data_fingerprint(export)
    cls = PartnerModel.registry["conversion"]
    job = FitJob(cls.name, Workspace(tmp_path / "ws").path(cls, fp, models_settings))
    with pytest.raises(NotEnoughDataError) as info:
        fit_in_workers([job, FitJob("timing", tmp_path / "t.zarr.zip")], export, models_settings,
                       fp, models_settings.sampler.model_dump(), 2, lambda _m: None)
    assert "in a worker process" in " ".join(getattr(info.value, "__notes__", []))
    assert not job.path.exists()


@pytest.mark.slow
def test_fit_all_in_workers_gives_the_fits_of_one_after_another(models_export, models_settings,
                                                                tmp_path):
    lines: list[str] = []
    side_by_side = fit_all(models_export, models_settings, Workspace(tmp_path / "a"),
                           progress=lines.append, workers=2)
    in_turn = fit_all(models_export, models_settings, Workspace(tmp_path / "b"), progress=False,
                      workers=1)
    assert any("2 at a time in worker processes" in line for line in lines)
    assert [m.name for m in side_by_side] == [cls.name for cls in MODEL_CLASSES]
    for a, b in zip(side_by_side, in_turn, strict=True):
        _posteriors_equal(a, b)
        assert a.diagnostics.failures == b.diagnostics.failures


_ORPHAN_SCRIPT = """
import os, sys, time
from partner_forecast.spawn_pool import run_spawned

def report_pid(_task):
    return os.getpid()

def linger(_task):
    time.sleep(120)

if __name__ == "__main__":
    out = sys.argv[1]
    run_spawned(report_pid, [0, 1], 2, describe=str,
                on_result=lambda pid: open(out, "a").write(f"{pid}\\n"))
    run_spawned(linger, [0, 1], 2, describe=str)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_end_when_the_command_is_killed(tmp_path):
    """A command killed mid-run (SIGKILL) leaves no worker process behind."""
    script = tmp_path / "orphans.py"
    script.write_text(_ORPHAN_SCRIPT, "utf-8")
    pids = tmp_path / "pids.txt"
    proc = subprocess.Popen([sys.executable, str(script), str(pids)])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_read_pids(pids)) < 2:
        time.sleep(0.2)
    time.sleep(3)  # the second pool's workers are sleeping now
    children = _children(proc.pid)
    assert children, "the command started no workers"
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.2)
    assert not [pid for pid in children if _alive(pid)]


def _read_pids(path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
