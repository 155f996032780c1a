"""The regions enabled in each account: assume a role there, ask EC2 DescribeRegions.

This runs for every account of the organisation, concurrently, so the per-account cost matters.
Creating an EC2 client costs 20-60 ms of CPU (botocore builds a class with ~700 methods each time),
serialised by the GIL: 5,000 accounts would spend minutes just creating clients. Instead one EC2 client
serves every account: its credentials object hands the signer the credentials that the *calling
thread* obtained from AssumeRole. botocore asks for credentials when it signs a request, in the thread
that makes the call -- the same hook its refreshable credentials rely on -- so each thread's calls are
signed as the account that thread is working on. One STS client is shared too (botocore clients are
thread-safe). Throttling is retried by botocore (standard retry mode, configured by the caller).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.credentials import CredentialProvider, CredentialResolver, Credentials, ReadOnlyCredentials

from starfleet_airflow import ROLE_SESSION_NAME_PATTERN, role_arn

if TYPE_CHECKING:  # pragma: no cover - typing only
    import boto3
    from botocore.config import Config

# DescribeRegions' OptInStatus values for a region the account can use.
ENABLED_STATUSES = frozenset({"opt-in-not-required", "opted-in"})


class ThreadCredentials(Credentials):
    """Credentials that are whatever the current thread last set (see the module docstring)."""

    method = "starfleet-assume-role-per-thread"

    def __init__(self) -> None:  # no super().__init__: the keys are per thread, not attributes
        self._local = threading.local()

    def set(self, credentials: dict[str, Any] | None) -> None:
        """Use STS ``Credentials`` for this thread's next calls; None forgets them."""
        self._local.frozen = (
            None
            if credentials is None
            else ReadOnlyCredentials(
                credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"], None
            )
        )

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        frozen = getattr(self._local, "frozen", None)
        if frozen is None:
            raise RuntimeError("no assumed-role credentials set for this thread")
        return frozen

    @property  # type: ignore[override]
    def access_key(self) -> str:
        return self.get_frozen_credentials().access_key

    @property  # type: ignore[override]
    def secret_key(self) -> str:
        return self.get_frozen_credentials().secret_key

    @property  # type: ignore[override]
    def token(self) -> str | None:
        return self.get_frozen_credentials().token

    @property  # type: ignore[override]
    def account_id(self) -> None:
        return None


class _FixedProvider(CredentialProvider):
    METHOD = ThreadCredentials.method

    def __init__(self, credentials: Credentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Credentials:
        return self._credentials


class RegionReader:
    """Reads enabled regions account by account, starting from one session's identity."""

    def __init__(
        self,
        base_session: boto3.Session,
        role_name: str,
        *,
        region: str,
        session_name: str,
        botocore_config: Config | None = None,
        duration_seconds: int = 900,
    ) -> None:
        """``region`` is where STS and EC2 are called (Starfleet uses the deployment region)."""
        self._session = base_session
        self._role_name = role_name
        self._session_name = ROLE_SESSION_NAME_PATTERN.sub("-", session_name)[:64] or "starfleet-airflow"
        self._duration = duration_seconds
        self._lock = threading.Lock()
        self.partition = base_session.get_partition_for_region(region)
        self._partition_of: dict[str, str] = {}
        self._sts = base_session.client("sts", region_name=region, config=botocore_config)
        self._credentials = ThreadCredentials()
        # Same profile settings as the base session (endpoint, CA bundle...), our credentials only.
        profile = base_session.profile_name if base_session.profile_name != "default" else None
        ec2_session = botocore.session.Session(profile=profile)
        ec2_session.register_component("credential_provider", CredentialResolver([_FixedProvider(self._credentials)]))
        self._ec2 = ec2_session.create_client("ec2", region_name=region, config=botocore_config)

    def _in_partition(self, region_name: str) -> bool:
        """DescribeRegions lists only the caller's partition in AWS; a stand-in may list others."""
        partition = self._partition_of.get(region_name)
        if partition is None:
            with self._lock:  # boto3 sessions are not thread-safe
                try:
                    partition = self._session.get_partition_for_region(region_name)
                except Exception:  # a region newer than this botocore: keep it rather than lose it
                    partition = self.partition
            self._partition_of[region_name] = partition
        return partition == self.partition

    def enabled_regions(self, account_id: str) -> list[str]:
        """Sorted names of the regions enabled in ``account_id``.

        ``AllRegions=True`` with an explicit ``OptInStatus`` check says in the code what "enabled"
        means: default regions and opted-in ones, never opt-in regions the account has not enabled.
        """
        credentials = self._sts.assume_role(
            RoleArn=role_arn(account_id, self._role_name, self.partition),
            RoleSessionName=self._session_name,
            DurationSeconds=self._duration,
        )["Credentials"]
        self._credentials.set(credentials)
        try:
            regions: list[dict[str, Any]] = self._ec2.describe_regions(AllRegions=True)["Regions"]
        finally:
            self._credentials.set(None)
        return sorted(
            r["RegionName"]
            for r in regions
            if r.get("OptInStatus", "opt-in-not-required") in ENABLED_STATUSES and self._in_partition(r["RegionName"])
        )
