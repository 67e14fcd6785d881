"""Signals: every file format read into [N, C, L] with the units that undo the scaling, the generated sets,
and one-line refusals of files that cannot be read whole."""

import struct

import numpy as np
import pytest
import torch

from gankit import DataError, build_dataset
from gankit.data.signals import to_units

from formats import write_ts, write_wav


def _roundtrip(data, values):
    """The data set's [-1, 1] series, taken back to units, equal what the file held."""
    assert data.x.dtype == torch.float32 and float(data.x.min()) == -1 and float(data.x.max()) == 1
    np.testing.assert_allclose(to_units(data.x, data.units).numpy(), values, atol=1e-5 * np.abs(values).max())


def test_npy_npz_layouts(tmp_path):
    rng = np.random.default_rng(0)
    ncl = rng.normal(size=(7, 3, 16)) * [[[1], [10], [100]]]  # channels in different units
    np.save(tmp_path / "ncl.npy", ncl)
    _roundtrip(build_dataset("signals", root=str(tmp_path / "ncl.npy")), ncl)
    np.savez(tmp_path / "nlf.npz", x=ncl.transpose(0, 2, 1), y=np.arange(7) % 2)
    data = build_dataset("signals", root=str(tmp_path / "nlf.npz"), layout="nlf")
    _roundtrip(data, ncl)
    assert data.labels.tolist() == [0, 1, 0, 1, 0, 1, 0] and data.num_classes == 2
    np.save(tmp_path / "flat.npy", ncl[:, 0])
    assert build_dataset("signals", root=str(tmp_path / "flat.npy")).shape == (1, 16)


def test_csv_wide_with_header_and_labels(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("label,t0,t1,t2,t3\nup,1,2,3,4\ndown,4,3,2,1\nup,0,1,2,3\n")
    data = build_dataset("signals", root=str(path), label_column="label")
    assert data.shape == (1, 4) and data.class_names == ["down", "up"] and data.labels.tolist() == [1, 0, 1]
    _roundtrip(data, np.array([[[1, 2, 3, 4]], [[4, 3, 2, 1]], [[0, 1, 2, 3]]], dtype=float))


def test_csv_long_format_groups_by_id(tmp_path):
    path = tmp_path / "long.csv"
    rows = ["id,a,b,class"] + [f"s{i},{i * 10 + t},{-t},{i % 2}" for i in range(3) for t in range(5)]
    path.write_text("\n".join(rows) + "\n")
    data = build_dataset("signals", root=str(path), id_column="id", label_column="class")
    assert data.shape == (2, 5) and data.labels.tolist() == [0, 1, 0] and data.class_names == ["0", "1"]
    expected = np.array([[[i * 10 + t for t in range(5)], [-t for t in range(5)]] for i in range(3)], dtype=float)
    _roundtrip(data, expected)


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_wav_folder_with_classes(tmp_path, width):
    t = np.arange(400) / 8000
    for i, (cls, freq) in enumerate([("low", 200), ("high", 1000), ("low", 300)]):
        write_wav(
            tmp_path / cls / f"{i}.wav",
            np.stack([np.sin(2 * np.pi * freq * t), 0.5 * np.cos(2 * np.pi * freq * t)]),
            width=width,
        )
    data = build_dataset("signals", root=str(tmp_path), length=256)
    assert data.shape == (2, 256) and data.sample_rate == 8000 and data.class_names == ["high", "low"]
    assert sorted(data.labels.tolist()) == [0, 1, 1]
    back = to_units(data.x, data.units).numpy()
    assert np.abs(back[:, 0]).max() == pytest.approx(1.0, abs=0.02) and np.abs(back[:, 1]).max() == pytest.approx(
        0.5, abs=0.02
    )


def test_ts_reader_and_the_test_split_keeps_the_training_scale(tmp_path):
    train = np.array([[[0.0, 1, 2, 3]], [[3, 2, 1, 0]]])
    write_ts(tmp_path / "Tiny_TRAIN.ts", train, ["x", "y"])
    write_ts(tmp_path / "Tiny_TEST.ts", train * 2, ["y", "x"])
    data = build_dataset("ucr", root=str(tmp_path), problem="Tiny")
    _roundtrip(data, train)
    test = build_dataset("ucr", root=str(tmp_path), problem="Tiny", split="test")
    assert float(test.x.max()) == 3.0  # 6 on a scale whose 1 is 3: scaled as its training split was
    assert test.labels.tolist() == [1, 0]


def test_series_of_different_lengths_are_resampled_only_when_asked(tmp_path):
    cases = [np.array([[0.0, 1, 2], [5, 5, 5]]), np.array([[0.0, 1, 2, 3, 4], [1, 2, 3, 4, 5]]), np.array([[7.0], [1]])]
    write_ts(tmp_path / "Ragged_TRAIN.ts", cases, ["a", "b", "a"], name="Ragged")
    with pytest.raises(DataError, match="series of 1 to 5 steps.*data.length=5") as err:
        build_dataset("ucr", root=str(tmp_path), problem="Ragged")
    assert "\n" not in str(err.value)
    data = build_dataset("ucr", root=str(tmp_path), problem="Ragged", length=5)
    assert data.shape == (2, 5) and data.labels.tolist() == [0, 1, 0]
    back = to_units(data.x, data.units).double()
    assert back[0, 0].tolist() == pytest.approx([0, 0.5, 1, 1.5, 2], abs=1e-5)  # stretched between its ends
    assert back[0, 1].tolist() == pytest.approx([5] * 5, abs=1e-5)
    assert torch.allclose(back[1], torch.from_numpy(cases[1]), atol=1e-5)  # already 5 steps: as written
    assert back[2, 0].tolist() == pytest.approx([7] * 5, abs=1e-5)  # one step held
    with pytest.raises(DataError, match="at least 2 steps"):
        build_dataset("ucr", root=str(tmp_path), problem="Ragged", length=1)


def test_cases_with_different_channels_are_refused(tmp_path):
    write_ts(tmp_path / "Odd_TRAIN.ts", [np.zeros((2, 4)), np.zeros((1, 4))], name="Odd")
    with pytest.raises(DataError, match="different numbers of dimensions"):
        build_dataset("ucr", root=str(tmp_path), problem="Odd")


def test_ucr_from_the_aeon_wheel():
    pytest.importorskip("aeon", reason="pip install --no-deps aeon ships the UCR sets gankit reads")
    data = build_dataset("ucr")  # GunPoint
    assert data.shape == (1, 150) and len(data) == 50 and data.num_classes == 2
    assert len(build_dataset("ucr", split="test")) == 150
    assert build_dataset("ucr", problem="BasicMotions").shape == (6, 100)
    vowels = build_dataset("ucr", problem="JapaneseVowels", length=29, split="test")  # 7 to 29 steps
    assert vowels.shape == (12, 29) and len(vowels) == 370 and vowels.num_classes == 9


def test_sines_are_timegans():
    data = build_dataset("sines", n=500)
    assert data.shape == (5, 24) and data.labels is None
    raw = to_units(data.x, data.units)
    assert float(raw.min()) >= 0.45 and float(raw.max()) <= 1.0  # (sin + 1) / 2 over phases in [0, 2.4]
    steps = raw.diff(dim=2)
    assert (steps >= -1e-9).float().mean() > 0.9  # f t + p < pi / 2 for most of each series: mostly rising
    assert not torch.equal(data.x, build_dataset("sines", n=500, split="test").x)


def test_waves_are_four_labelled_shapes():
    data = build_dataset("waves", n=400, noise=0.0)
    assert data.shape == (1, 64) and data.class_names == ["sine", "square", "triangle", "sawtooth"]
    square = data.x[data.labels == 1]
    levels = to_units(square, data.units).abs()
    assert float((levels - levels.amax(2, keepdim=True)).abs().max()) < 1e-6  # two levels, +-amplitude


def _truncated_wav(path):
    write_wav(path, np.zeros((1, 1000)))
    data = path.read_bytes()
    path.write_bytes(data[:-500])


def _huge_wav(path):
    write_wav(path, np.zeros((1, 10)))
    data = bytearray(path.read_bytes())
    at = data.index(b"data") + 4
    data[at : at + 4] = struct.pack("<I", 2**32 - 2)  # the largest size a RIFF chunk can declare
    data[4:8] = struct.pack("<I", 2**32 - 1)
    path.write_bytes(bytes(data))


def _huge_npy(path):
    """A valid header declaring 2^40 x 3 doubles, followed by 48 bytes."""
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (2**40, 3)})
        f.write(bytes(48))


HOSTILE = {
    "truncated.wav": (_truncated_wav, "truncated|declares"),
    "huge.wav": (_huge_wav, "declares"),
    "ragged.csv": (lambda p: p.write_text("1,2,3\n4,5\n"), "row 2 has 2 values, expected 3"),
    "nan.csv": (lambda p: p.write_text("1,2,3\n4,nan,6\n"), "item 1 holds NaN or infinite values"),
    "inf.npy": (lambda p: np.save(p, np.array([[1.0, np.inf]])), "item 0 holds NaN or infinite values"),
    "text.csv": (lambda p: p.write_text("1,2,3\n4,five,6\n"), "'five' is not a number"),
    "object.npy": (lambda p: np.save(p, np.array([[1, "a"]], dtype=object), allow_pickle=True), "unpickle"),
    "huge.npy": (_huge_npy, "cannot read .*huge.npy"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_are_refused_in_one_line(tmp_path, name):
    write, message = HOSTILE[name]
    if name.endswith(".wav"):
        path = tmp_path / "clips" / name
        path.parent.mkdir()
        write(path)
        root = path.parent
    else:
        root = path = tmp_path / name
        write(path)
    with pytest.raises(DataError, match=message) as err:
        build_dataset("signals", root=str(root))
    assert "\n" not in str(err.value)
