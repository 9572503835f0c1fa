"""Damaged dataset files: every kind gives exit 2 and one line naming the file, and the IDX
reader, fed any bytes at all, returns a valid array or raises its own DataError."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cnnreport.errors import DataError
from cnnreport.ml.data import parse_idx, read_idx
from tests.faults.helpers import assert_fails, cli, train_command
from tests.idx_files import idx_bytes

IMAGES, LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"


def becomes(array: np.ndarray) -> Callable[[bytes], bytes]:
    return lambda _: idx_bytes(array)


DAMAGE: dict[str, tuple[str, Callable[[bytes], bytes], tuple[str, ...]]] = {
    "truncated images": (IMAGES, lambda raw: raw[: len(raw) // 2], (IMAGES, "payload")),
    "truncated header": (LABELS, lambda raw: raw[:6], (LABELS, "truncated IDX header")),
    "wrong magic number": (LABELS, lambda raw: b"\x08\x03" + raw[2:], (LABELS, "wrong magic number")),
    "not unsigned bytes": (IMAGES, lambda raw: raw[:2] + b"\x0d" + raw[3:], (IMAGES, "not unsigned bytes")),
    "images of the wrong size": (IMAGES, becomes(np.zeros((600, 27, 27), np.uint8)), (IMAGES, "[N, 28, 28]")),
    "labels with two dimensions": (LABELS, becomes(np.zeros((600, 1, 1), np.uint8)), (LABELS, "1-dimensional")),
    "fewer labels than images": (LABELS, becomes(np.zeros(599, np.uint8)), (IMAGES, LABELS, "599 labels")),
    "a label above 9": (LABELS, becomes(np.full(600, 12, np.uint8)), (LABELS, "label 12")),
    "no images at all": (IMAGES, becomes(np.zeros((0, 28, 28), np.uint8)), (IMAGES, "holds no images")),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_idx_file_is_one_error_naming_it(tmp_path: Path, fault_data: Path, damage: str) -> None:
    data = Path(shutil.copytree(fault_data, tmp_path / "data"))
    file_name, change, fragments = DAMAGE[damage]
    (data / file_name).write_bytes(change((data / file_name).read_bytes()))
    result = cli(*train_command(tmp_path / "runs", data, "run"))
    assert_fails(result, 2, *fragments)
    assert not (tmp_path / "runs" / "run" / "config.json").exists()  # nothing to --resume from


@pytest.mark.parametrize("garbage", [b"not gzip at all", gzip.compress(b"x" * 999)[:30] + b"\xff" * 50])
def test_a_corrupt_gzip_file_is_one_error_naming_it(tmp_path: Path, fault_data: Path, garbage: bytes) -> None:
    data = Path(shutil.copytree(fault_data, tmp_path / "data"))
    (data / LABELS).unlink()
    (data / f"{LABELS}.gz").write_bytes(garbage)
    assert_fails(cli(*train_command(tmp_path / "runs", data, "run")), 2, f"{LABELS}.gz", "cannot read")


def assert_valid_idx(array: np.ndarray, raw: bytes) -> None:
    """What parse_idx promises about anything it returns."""
    assert array.dtype == np.uint8 and array.ndim in (1, 3)
    assert raw[:4] == bytes([0, 0, 0x08, array.ndim])
    declared = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(array.ndim))
    assert array.shape == declared and array.nbytes == len(raw) - 4 - 4 * array.ndim


def idx_like() -> st.SearchStrategy[bytes]:
    """Bytes that look like IDX: a plausible header, sizes small or huge, any payload."""
    size = st.one_of(st.integers(0, 6), st.sampled_from([28, 2**31, 2**32 - 1]), st.integers(0, 2**32 - 1))
    return st.builds(
        lambda magic, ndim, sizes, payload: (
            magic + bytes([ndim]) + b"".join(n.to_bytes(4, "big") for n in sizes) + payload
        ),
        st.sampled_from([b"\x00\x00\x08", b"\x00\x00\x09", b"\x00\x01\x08"]),
        st.integers(0, 4),
        st.lists(size, min_size=0, max_size=4),
        st.binary(max_size=64),
    )


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(st.binary(max_size=200), idx_like()))
@example(raw=bytes([0, 0, 8, 3]) + (2**31).to_bytes(4, "big") * 2 + (4).to_bytes(4, "big"))  # sizes overflow 64 bits
@example(raw=bytes([0, 0, 8, 3]) + (0).to_bytes(4, "big") + (2**32 - 1).to_bytes(4, "big") * 2)  # zero images
def test_the_idx_parser_returns_a_valid_array_or_raises_data_error(raw: bytes) -> None:
    try:
        array = parse_idx(raw, "random.idx")
    except DataError as error:
        assert "random.idx" in str(error)
    else:
        assert_valid_idx(array, raw)


def gzip_like() -> st.SearchStrategy[bytes]:
    """Random bytes, gzipped IDX, and gzipped IDX with a few bytes overwritten somewhere."""
    overwrite = st.builds(
        lambda data, at, junk: data[:at] + junk + data[at + len(junk) :],
        idx_like().map(gzip.compress),
        st.integers(0, 80),
        st.binary(min_size=1, max_size=4),
    )
    return st.one_of(st.binary(max_size=200), idx_like().map(gzip.compress), overwrite)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=gzip_like())
@example(raw=gzip.compress(b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + b"abc")[:-8])  # cut before its trailer
def test_the_gzip_reader_returns_a_valid_array_or_raises_data_error(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "labels.gz"
    path.write_bytes(raw)
    try:
        array = read_idx(path)
    except DataError as error:
        assert path.name in str(error)
    else:
        assert_valid_idx(array, gzip.decompress(raw))
