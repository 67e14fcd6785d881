"""The folder and celeba loaders (both decode image files with Pillow)."""

import numpy as np
import pytest

from gankit import DataError, build_dataset

from formats import write_image


def test_folder_with_class_subfolders(tmp_path):
    for i, cls in enumerate(["cat", "dog"]):
        for j in range(3):
            write_image(tmp_path / cls / f"{j}.png", (20, 20), seed=i * 10 + j)
    data = build_dataset("folder", root=str(tmp_path))
    assert data.x.shape == (6, 3, 20, 20)
    assert data.class_names == ["cat", "dog"] and data.labels.tolist() == [0, 0, 0, 1, 1, 1]


def test_flat_folder_mixed_sizes_and_modes_with_resolution(tmp_path):
    write_image(tmp_path / "a.png", (30, 40), "L")
    write_image(tmp_path / "b.jpg", (50, 50), "RGB", fmt="JPEG")
    write_image(tmp_path / "c.png", (16, 24), "RGBA")
    data = build_dataset("folder", root=str(tmp_path), resolution=16)
    assert data.x.shape == (3, 3, 16, 16) and data.labels is None
    grey = build_dataset("folder", root=str(tmp_path), resolution=8, channels=1)
    assert grey.x.shape == (3, 1, 8, 8)


def test_grey_images_stay_one_channel(tmp_path):
    arr = np.zeros((10, 10), np.uint8)
    arr[2:5, 3:7] = 200
    from PIL import Image

    Image.fromarray(arr).save(tmp_path / "x.png")
    data = build_dataset("folder", root=str(tmp_path))
    assert data.x.shape == (1, 1, 10, 10) and (data.x[0, 0].numpy() == arr).all()


def test_mixed_sizes_without_resolution(tmp_path):
    write_image(tmp_path / "a.png", (10, 10))
    write_image(tmp_path / "b.png", (12, 12))
    with pytest.raises(DataError, match="data.resolution"):
        build_dataset("folder", root=str(tmp_path))


def test_empty_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(DataError, match="no images in"):
        build_dataset("folder", root=str(tmp_path))


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        build_dataset("folder", root=str(tmp_path / "nope"))


def test_unreadable_image_is_named(tmp_path):
    write_image(tmp_path / "good.png", (8, 8))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match="broken.png"):
        build_dataset("folder", root=str(tmp_path))


def _celeba(tmp_path, n=4):
    names = [f"{i + 1:06d}.jpg" for i in range(n)]
    for i, name in enumerate(names):
        write_image(tmp_path / "img_align_celeba" / name, (178, 218), seed=i, fmt="JPEG")
    rows = [f"{name} {' '.join(['1' if i % 2 else '-1', '-1'])}" for i, name in enumerate(names)]
    (tmp_path / "list_attr_celeba.txt").write_text(f"{n}\nSmiling Male\n" + "\n".join(rows) + "\n")


def test_celeba_crops_to_64_and_reads_attributes(tmp_path):
    _celeba(tmp_path)
    data = build_dataset("celeba", root=str(tmp_path), attribute="Smiling")
    assert data.x.shape == (4, 3, 64, 64)
    assert data.labels.tolist() == [0, 1, 0, 1] and data.class_names == ["not Smiling", "Smiling"]
    assert build_dataset("celeba", root=str(tmp_path)).labels is None


def test_celeba_unknown_attribute_lists_valid(tmp_path):
    _celeba(tmp_path)
    with pytest.raises(DataError, match="valid: Smiling, Male"):
        build_dataset("celeba", root=str(tmp_path), attribute="Hat")


def test_celeba_missing(tmp_path):
    with pytest.raises(DataError, match="img_align_celeba"):
        build_dataset("celeba", root=str(tmp_path))
