"""kznews.fsutil: the file checks the stages use before trusting a file on disk."""

from __future__ import annotations

from pathlib import Path

from kznews.fsutil import is_file_of_size


def test_is_file_of_size(tmp_path: Path) -> None:
    path = tmp_path / "part-0.parquet"
    assert not is_file_of_size(path)  # missing: False, not an error
    path.write_bytes(b"12345")
    assert is_file_of_size(path) and is_file_of_size(path, 5)
    assert not is_file_of_size(path, 4)
    folder = tmp_path / "folder"
    folder.mkdir()
    assert not is_file_of_size(folder)  # a folder of that name is not the file
