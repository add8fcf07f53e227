"""Bounded fuzzing of every metering decoder: only the typed errors may come out."""
from hypothesis import given, settings
from hypothesis import strategies as st

from metering import Calibration, DataCorrupt, SignatureInvalid, SyncState, verify_ocmf
from metering.clock import parse_chrony_tracking
from tests.metering.test_ocmf import VECTOR_KEY, VECTOR_PAYLOAD, VECTOR_SIGNATURE

RECORD = f"OCMF|{VECTOR_PAYLOAD}|{VECTOR_SIGNATURE}"


@settings(max_examples=300, deadline=None)
@given(position=st.integers(0, len(RECORD) - 1), replacement=st.characters(), cut=st.booleans())
def test_mutated_ocmf_records_raise_only_sig_invalid(position, replacement, cut):
    mutated = RECORD[:position] if cut else RECORD[:position] + replacement + RECORD[position + 1:]
    if mutated == RECORD:
        return
    try:
        verify_ocmf(mutated, VECTOR_KEY)
    except SignatureInvalid:
        return
    # A mutation may leave the signed payload intact (e.g. in the ignored SA spelling case); then it must verify.
    assert mutated.split("|")[1] == VECTOR_PAYLOAD


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_random_text_as_ocmf_raises_only_sig_invalid(text):
    try:
        verify_ocmf(text, VECTOR_KEY)
    except SignatureInvalid:
        pass


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(st.text(max_size=300), st.just(Calibration.identity().dumps())))
def test_random_calibration_files_raise_only_data_corrupt(text):
    try:
        Calibration.loads(text)
    except DataCorrupt:
        pass


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_random_chronyc_output_always_classifies(text):
    assert isinstance(parse_chrony_tracking(text), SyncState)
