"""Read and list objects that live either in S3 (``s3://bucket/key``) or on the local disk.

Templates and the account index may be in either place: S3 in production, a local folder for the
embedded default and for tests. Keeping the choice in one module means the rest of the code never
asks "is this S3?" again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    from mypy_boto3_s3 import S3Client  # noqa: F401

S3_SCHEME = "s3://"


class LocationError(Exception):
    """A location could not be read or listed; the message names the location and the cause."""


@dataclass(frozen=True)
class Location:
    """A parsed location: an S3 bucket and key, or a local path."""

    bucket: str | None
    key: str

    @property
    def is_s3(self) -> bool:
        return self.bucket is not None

    def __str__(self) -> str:
        return f"{S3_SCHEME}{self.bucket}/{self.key}" if self.is_s3 else self.key

    def child(self, relative_key: str) -> Location:
        """The location of ``relative_key`` under this one (a prefix or a folder)."""
        if self.is_s3:
            prefix = self.key if not self.key or self.key.endswith("/") else self.key + "/"
            return Location(self.bucket, prefix + relative_key)
        return Location(None, str(Path(self.key) / relative_key))


def parse_location(text: str, base_dir: Path | None = None) -> Location:
    """Parse ``s3://bucket/key`` or a path; relative paths are resolved against ``base_dir``."""
    if text.startswith(S3_SCHEME):
        bucket, _, key = text[len(S3_SCHEME) :].partition("/")
        if not bucket:
            raise LocationError(f"{text!r}: expected s3://bucket/key")
        return Location(bucket, key)
    path = Path(text).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return Location(None, str(path))


def read_bytes(location: Location, s3_client: Any = None) -> bytes:
    """Return the whole object or file. ``s3_client`` is a boto3 S3 client, needed for S3 only."""
    if location.is_s3:
        if s3_client is None:
            raise LocationError(f"{location}: an S3 client is needed to read it")
        try:
            return s3_client.get_object(Bucket=location.bucket, Key=location.key)["Body"].read()
        except Exception as exc:  # botocore's ClientError and connection errors alike
            raise LocationError(f"{location}: cannot read ({exc})") from exc
    try:
        return Path(location.key).read_bytes()
    except OSError as exc:
        raise LocationError(f"{location}: cannot read ({exc.strerror or exc})") from exc


def read_range(location: Location, offset: int, length: int, s3_client: Any = None) -> bytes:
    """``length`` bytes from ``offset`` (an S3 ranged GET, or a seek): a deliver task reads only its part."""
    if length <= 0:
        return b""
    if location.is_s3:
        if s3_client is None:
            raise LocationError(f"{location}: an S3 client is needed to read it")
        try:
            response = s3_client.get_object(
                Bucket=location.bucket, Key=location.key, Range=f"bytes={offset}-{offset + length - 1}"
            )
            data = response["Body"].read()
        except Exception as exc:
            raise LocationError(f"{location}: cannot read bytes {offset}..{offset + length} ({exc})") from exc
    else:
        try:
            with open(location.key, "rb") as handle:
                handle.seek(offset)
                data = handle.read(length)
        except OSError as exc:
            raise LocationError(f"{location}: cannot read ({exc.strerror or exc})") from exc
    if len(data) != length:
        raise LocationError(f"{location}: expected {length} bytes at offset {offset}, got {len(data)}")
    return data


def exists(location: Location, s3_client: Any = None) -> bool:
    """Whether the object or file is there (a HEAD request for S3); errors other than "missing" raise."""
    if not location.is_s3:
        return Path(location.key).is_file()
    if s3_client is None:
        raise LocationError(f"{location}: an S3 client is needed to check it")
    try:
        s3_client.head_object(Bucket=location.bucket, Key=location.key)
    except Exception as exc:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        if code in {"404", "NoSuchKey", "NotFound"}:
            return False
        raise LocationError(f"{location}: cannot check ({exc})") from exc
    return True


def touch(location: Location, s3_client: Any = None, content_type: str | None = None) -> None:
    """Mark an existing object or file as used now (its last-modified time), without changing its bytes.

    S3 has no touch: an object copied onto itself with its metadata replaced gets a new LastModified
    (server-side, whatever its size); replacing the metadata drops it, so give ``content_type`` again.
    """
    if not location.is_s3:
        try:
            os.utime(location.key)
        except OSError as exc:
            raise LocationError(f"{location}: cannot touch ({exc})") from exc
        return
    if s3_client is None:
        raise LocationError(f"{location}: an S3 client is needed to touch it")
    try:
        s3_client.copy_object(
            Bucket=location.bucket,
            Key=location.key,
            CopySource={"Bucket": location.bucket, "Key": location.key},
            MetadataDirective="REPLACE",
            **({"ContentType": content_type} if content_type else {}),
        )
    except Exception as exc:
        raise LocationError(f"{location}: cannot touch ({exc})") from exc


def write_bytes(location: Location, data: bytes, s3_client: Any = None, content_type: str | None = None) -> None:
    """Write the whole object or file, creating local folders as needed."""
    if location.is_s3:
        if s3_client is None:
            raise LocationError(f"{location}: an S3 client is needed to write it")
        extra = {"ContentType": content_type} if content_type else {}
        try:
            s3_client.put_object(Bucket=location.bucket, Key=location.key, Body=data, **extra)
        except Exception as exc:
            raise LocationError(f"{location}: cannot write ({exc})") from exc
        return
    path = Path(location.key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # readers never see a half-written file


def list_keys(location: Location, suffix: str = "", s3_client: Any = None) -> list[str]:
    """Every key (S3) or file path (local) under ``location`` ending in ``suffix``, sorted.

    A location that itself ends in ``suffix`` names one object and is returned as is, without a
    listing call, as Starfleet does for a ``TemplatePrefix`` ending in ``.yaml``.
    """
    if suffix and location.key.endswith(suffix):
        return [location.key]
    if location.is_s3:
        if s3_client is None:
            raise LocationError(f"{location}: an S3 client is needed to list it")
        keys: list[str] = []
        try:
            paginator = s3_client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=location.bucket, Prefix=location.key):
                keys.extend(obj["Key"] for obj in page.get("Contents", []) if obj["Key"].endswith(suffix))
        except Exception as exc:
            raise LocationError(f"{location}: cannot list ({exc})") from exc
        return sorted(keys)
    root = Path(location.key)
    if not root.exists():
        raise LocationError(f"{location}: no such file or folder")
    if root.is_file():
        return [str(root)]
    return sorted(str(p) for p in root.rglob(f"*{suffix}") if p.is_file())


def list_with_times(location: Location, suffix: str, s3_client: Any = None) -> list[tuple[str, datetime]]:
    """``(key or path, last modified)`` of every object directly in ``location`` ending in ``suffix``.

    One level only, on S3 as in a local folder: S3 is listed with ``Delimiter="/"``, so keys in
    "subfolders" of ``location`` (a prefix ending in ``/``) are not listed.
    """
    if location.is_s3:
        if s3_client is None:
            raise LocationError(f"{location}: an S3 client is needed to list it")
        found: list[tuple[str, datetime]] = []
        try:
            for page in s3_client.get_paginator("list_objects_v2").paginate(
                Bucket=location.bucket, Prefix=location.key, Delimiter="/"
            ):
                found += [(o["Key"], o["LastModified"]) for o in page.get("Contents", []) if o["Key"].endswith(suffix)]
        except Exception as exc:
            raise LocationError(f"{location}: cannot list ({exc})") from exc
        return found
    root = Path(location.key)
    if not root.is_dir():
        return []
    return [
        (str(p), datetime.fromtimestamp(p.stat().st_mtime, tz=timezone.utc))
        for p in root.iterdir()
        if p.is_file() and p.name.endswith(suffix)
    ]


def delete_keys(location: Location, keys: list[str], s3_client: Any = None) -> None:
    """Delete objects (keys of ``location``'s bucket) or local files (paths); missing ones are no error."""
    if location.is_s3:
        if s3_client is None:
            raise LocationError(f"{location}: an S3 client is needed to delete from it")
        try:
            for start in range(0, len(keys), 1000):  # DeleteObjects takes 1,000 keys per call
                chunk = [{"Key": key} for key in keys[start : start + 1000]]
                s3_client.delete_objects(Bucket=location.bucket, Delete={"Objects": chunk, "Quiet": True})
        except Exception as exc:
            raise LocationError(f"{location}: cannot delete ({exc})") from exc
        return
    for key in keys:
        Path(key).unlink(missing_ok=True)
