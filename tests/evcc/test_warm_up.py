"""warm_up fills the codec caches once per process, not once per SECC server or EV session."""
from iso15118.evcc import inprocess


def test_warm_up_runs_its_sessions_only_the_first_time(monkeypatch):
    runs = []
    monkeypatch.setattr(inprocess, "_warmed_up", False)
    monkeypatch.setattr(inprocess, "run_in_process", lambda *a, **k: runs.append(a))
    inprocess.warm_up()
    first = len(runs)
    inprocess.warm_up()
    inprocess.warm_up()
    assert first == 8  # 4 services x 2 control modes
    assert len(runs) == first
