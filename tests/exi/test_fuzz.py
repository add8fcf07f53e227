"""Bounded fuzzing: random and mutated streams into every decoder; only ExiError may come out.
The long run is `python -m exi.fuzz --iterations 1000000`."""
from exi import fuzz

from .conftest import VECTORS


def test_random_and_mutated_streams_only_raise_exi_error_and_fast_path_agrees_with_interpreter():
    seeds = fuzz.load_seeds(VECTORS)
    failures = fuzz.run(4000, seed=1, seeds=seeds)
    assert failures == [], failures[0][3]

