"""Where batch runs read and write: local paths or fsspec URLs, atomic writes, stable bytes.

Every output file of the command line is written whole or not at all: its bytes go to a
hidden temporary name in the destination folder (``.<name>.<pid>-<random>.part``), which is
then renamed onto the final name (``os.replace`` locally; object stores such as ``s3://``
make an upload visible only when it is complete, so they are written directly). A process
killed during a write therefore leaves at most a ``.part`` file, never a truncated output.

Locations are plain strings: a local path, or a URL ``protocol://...`` handled by fsspec
(an optional dependency, installed with ``pip install ".[dask]"``); a ``file://`` URL is
treated as the local path it names.

The serializers (:func:`npz_bytes`, :func:`mat_bytes`, :func:`png_bytes`, :func:`npy_bytes`)
give the same bytes for the same arrays: no time stamps inside the files, so a resumed run's
files equal an uninterrupted run's byte for byte.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
#: Protocols whose writes become visible only when complete (no rename needed, none offered).
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oss",
                           "memory"})
#: Marker of the temporary files written before the rename.
PART_SUFFIX = ".part"


def is_url(location: str | os.PathLike) -> bool:
    """Whether ``location`` is a URL (``protocol://...``) rather than a local path."""
    return bool(_URL.match(os.fspath(location))) and not os.fspath(location).startswith("file://")


def local_path(location: str | os.PathLike) -> Path:
    """The local path of a location that is not a URL (a ``file://`` URL gives its path)."""
    text = os.fspath(location)
    if text.startswith("file://"):
        text = text[len("file://"):]
    return Path(text)


def _filesystem(url: str):
    """``(fsspec filesystem, path inside it)`` of a URL; a clear error without fsspec."""
    try:
        import fsspec
    except ImportError:
        raise ValueError(f"{url}: URLs need fsspec (pip install \"mcg[dask]\" or pip install "
                         "fsspec and the package of the protocol, e.g. s3fs)") from None
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as error:
        raise ValueError(f"{url}: cannot open this URL ({error})") from None


def join(folder: str, name: str) -> str:
    """The location of ``name`` (which may contain ``/``) inside the folder ``folder``."""
    if is_url(folder):
        return folder.rstrip("/") + "/" + name
    return str(local_path(folder) / name)


def base_name(location: str | os.PathLike) -> str:
    """The file name of a location (last component of a path or URL)."""
    text = os.fspath(location)
    if is_url(text):
        return text.rstrip("/").rsplit("/", 1)[-1]
    return local_path(text).name


def stem(location: str | os.PathLike) -> str:
    """The file name of a location without its last suffix (``a/b.c.jpg`` -> ``b.c``)."""
    name = base_name(location)
    dot = name.rfind(".")
    return name[:dot] if dot > 0 else name


def read_bytes(location: str | os.PathLike) -> bytes:
    """The whole content of a file given by path or URL.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    """
    text = os.fspath(location)
    if not is_url(text):
        path = local_path(text)
        if not path.is_file():
            raise FileNotFoundError(f"file not found: {path}")
        return path.read_bytes()
    fs, path = _filesystem(text)
    try:
        with fs.open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"file not found: {text}") from None


def _part_name(name: str) -> str:
    return f".{name}.{os.getpid()}-{secrets.token_hex(4)}{PART_SUFFIX}"


@contextlib.contextmanager
def atomic_open(location: str | os.PathLike, mode: str = "wb") -> Iterator[io.IOBase]:
    """Open a file for writing so that it appears under its name only once complete.

    Parameters
    ----------
    location : str or path
        Destination path or URL; its folder must exist (object stores have no folders).
    mode : {"wb", "w"}
        Binary or text (UTF-8) writing.

    Yields
    ------
    file object
        Writes go to a temporary file in the same folder, renamed onto ``location`` when the
        ``with`` block ends normally; on an exception it is removed and ``location`` is left
        as it was.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open: mode must be 'wb' or 'w', not {mode!r}")
    text = os.fspath(location)
    encoding = None if mode == "wb" else "utf-8"
    if not is_url(text):
        final = local_path(text)
        part = final.parent / _part_name(final.name)
        try:
            with open(part, mode, encoding=encoding) as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(part, final)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        return
    fs, path = _filesystem(text)
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if protocol in OBJECT_STORES:
        with fs.open(path, mode, encoding=encoding) as handle:
            yield handle
        return
    parent, _, name = path.rpartition("/")
    part = f"{parent}/{_part_name(name)}" if parent else _part_name(name)
    try:
        with fs.open(part, mode, encoding=encoding) as handle:
            yield handle
        fs.mv(part, path)
    except BaseException:
        with contextlib.suppress(Exception):
            fs.rm(part)
        raise


def write_bytes(location: str | os.PathLike, data: bytes) -> str:
    """Write ``data`` to ``location`` atomically (see :func:`atomic_open`); returns it as str."""
    with atomic_open(location, "wb") as handle:
        handle.write(data)
    return os.fspath(location)


def make_folder(location: str) -> None:
    """Create a folder (and its parents) if needed; nothing to do on object stores.

    Raises
    ------
    NotADirectoryError
        If ``location`` (or a parent) is an existing file.
    PermissionError
        If the folder cannot be created or written into (checked with a test file).
    """
    if is_url(location):
        fs, path = _filesystem(location)
        if fs.isfile(path):
            raise NotADirectoryError(f"output folder is an existing file: {location}")
        fs.makedirs(path, exist_ok=True)
        probe = join(location, _part_name("write-test"))
        try:
            write_bytes(probe, b"")
            fs.rm(_filesystem(probe)[1])
        except Exception as error:  # noqa: BLE001 - any backend error means "cannot write"
            raise PermissionError(f"cannot write into {location} ({error})") from None
        return
    path = local_path(location)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"output folder is an existing file: {path}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(f"output folder {path}: a parent is a file") from None
    except OSError as error:
        raise PermissionError(f"cannot create output folder {path} ({error.strerror})") from None
    probe = path / _part_name("write-test")
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise PermissionError(f"cannot write into output folder {path} ({error.strerror})") from None


def list_names(folder: str) -> set[str]:
    """Names of the files directly inside ``folder`` (empty when it does not exist)."""
    if not is_url(folder):
        path = local_path(folder)
        if not path.is_dir():
            return set()
        with os.scandir(path) as entries:
            return {entry.name for entry in entries if entry.is_file()}
    fs, path = _filesystem(folder)
    if not fs.isdir(path):
        return set()
    return {item["name"].rstrip("/").rsplit("/", 1)[-1]
            for item in fs.ls(path, detail=True) if item.get("type") == "file"}


def remove(location: str) -> None:
    """Delete a file if it exists."""
    if not is_url(location):
        local_path(location).unlink(missing_ok=True)
        return
    fs, path = _filesystem(location)
    if fs.exists(path):
        fs.rm(path)


def is_file(location: str) -> bool:
    """Whether a file exists at ``location``."""
    if not is_url(location):
        return local_path(location).is_file()
    fs, path = _filesystem(location)
    return fs.isfile(path)


def is_dir(location: str) -> bool:
    """Whether a folder exists at ``location``."""
    if not is_url(location):
        return local_path(location).is_dir()
    fs, path = _filesystem(location)
    return fs.isdir(path)


def list_files(folder: str) -> list[str]:
    """Locations of the files directly inside ``folder``, sorted by name."""
    if not is_url(folder):
        path = local_path(folder)
        with os.scandir(path) as entries:
            return sorted(str(path / entry.name) for entry in entries if entry.is_file())
    fs, path = _filesystem(folder)
    names = sorted(item["name"].rstrip("/").rsplit("/", 1)[-1]
                   for item in fs.ls(path, detail=True) if item.get("type") == "file")
    return [join(folder, name) for name in names]


# ---------------------------------------------------------------------------- serializers
#: Fixed time stamp of the members of the .npz archives written here (zip's earliest date).
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def npz_bytes(arrays: dict[str, np.ndarray], compress: bool = True) -> bytes:
    """An ``.npz`` archive of ``arrays`` as bytes, read by ``numpy.load``.

    Unlike ``numpy.savez``, whose zip members carry the time of writing, the same arrays give
    the same bytes.

    Parameters
    ----------
    arrays : dict of str to ndarray
        Member names (without ``.npy``) and arrays, written in this order; no object arrays.
    compress : bool
        Deflate the members (as ``numpy.savez_compressed``).

    Returns
    -------
    bytes
    """
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, value in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.compress_type = method
            info.external_attr = 0o644 << 16
            info.create_system = 3
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)
    return buffer.getvalue()


#: The 116-byte text header of the .mat files written here (MATLAB ignores its content).
_MAT_HEADER = b"MATLAB 5.0 MAT-file, written by mcg".ljust(116, b" ")


def mat_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A compressed MATLAB 5 ``.mat`` file of ``arrays`` as bytes (``scipy.io.loadmat`` reads it).

    scipy writes the time of writing into the file's text header; it is replaced by a fixed
    text, so the same arrays give the same bytes.
    """
    import scipy.io

    buffer = io.BytesIO()
    scipy.io.savemat(buffer, arrays, do_compression=True)
    data = bytearray(buffer.getvalue())
    data[:116] = _MAT_HEADER
    return bytes(data)


def png_bytes(image: np.ndarray) -> bytes:
    """A PNG file of an (H, W) or (H, W, 3 BGR) uint8/uint16 image as bytes (OpenCV encoder)."""
    import cv2

    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"cannot encode an image of shape {image.shape} and dtype "
                         f"{image.dtype} as PNG")
    return encoded.tobytes()


def npy_bytes(array: np.ndarray) -> bytes:
    """A ``.npy`` file of ``array`` as bytes (``numpy.load`` reads it)."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()
