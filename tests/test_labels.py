"""Work-unit labels, what the Airflow grid shows for each mapped deliver task: names, regions, no id ranges."""

from __future__ import annotations

from starfleet_airflow.core.account_index import AccountIndex
from starfleet_airflow.core.enums import DeliveryMode, FanOutStrategy
from starfleet_airflow.core.plan import LABEL_LIMIT, cut_units, unit_label
from starfleet_airflow.core.resolve import Target
from starfleet_airflow.devtools.synthetic_org import build_index, sample_organisation

ORG = sample_organisation()
INDEX = AccountIndex.from_dict(ORG)
BIG = AccountIndex.from_dict(build_index(60, 20, seed=1))


def _name(index: AccountIndex, account_id: str) -> str:
    return index.name_of(account_id)


def test_an_sqs_batch_names_its_accounts_and_regions_and_counts_its_targets() -> None:
    accounts = sorted(BIG.accounts)
    regions = [f"r-{n:02d}" for n in range(20)]
    targets = [Target(a, r) for a in accounts for r in regions]
    label = unit_label("AwsConfigEnablement", BIG, targets)
    names = sorted((_name(BIG, a) for a in accounts), key=str.lower)
    assert label.startswith(f"AwsConfigEnablement: 1200 targets, 60 accounts ({names[0]}, {names[1]}, ")
    assert " more), 20 regions (r-00, r-01, " in label
    assert ".." not in label and accounts[0] not in label  # names, not an id range
    assert len(label) <= LABEL_LIMIT and not label.endswith("…")  # both lists fit, neither is cut


def test_a_narrowed_run_reads_without_doubled_brackets() -> None:
    account = sorted(INDEX.accounts)[0]
    label = unit_label("AwsConfigEnablement", INDEX, [Target(account, "eu-west-1"), Target(account, "us-east-1")])
    assert label == f"AwsConfigEnablement: {_name(INDEX, account)} ({account}), 2 regions (eu-west-1, us-east-1)"
    one = unit_label("AwsConfigEnablement", INDEX, [Target(account, "us-east-1")])
    assert one == f"AwsConfigEnablement: {_name(INDEX, account)} ({account}), us-east-1"
    assert ") (" not in label and ") (" not in one


def test_an_account_batch_lists_names_in_order() -> None:
    accounts = sorted(INDEX.accounts)[:3]
    label = unit_label("SecurityAuditRole", INDEX, [Target(a, None) for a in accounts])
    names = ", ".join(sorted((_name(INDEX, a) for a in accounts), key=str.lower))
    assert label == f"SecurityAuditRole: 3 accounts ({names})"


def test_a_label_never_exceeds_airflows_column() -> None:
    long_index = AccountIndex.from_dict(
        {
            "accounts": {
                f"{n:012d}": {
                    "Id": f"{n:012d}",
                    "Name": "x" * 90 + str(n),
                    "Status": "ACTIVE",
                    "Parents": [{"Id": "r-abcd", "Name": "ROOT", "Type": "ROOT"}],
                    "Regions": ["us-east-1"],
                    "Tags": {},
                    "Arn": f"arn:aws:organizations::000000000001:account/o-x/{n:012d}",
                }
                for n in range(1, 6)
            }
        }
    )
    label = unit_label("T" * 40, long_index, [Target(a, "us-east-1") for a in long_index.accounts])
    assert len(label) <= LABEL_LIMIT and "and 4 more" in label


def test_inline_rows_read_in_the_order_of_account_names() -> None:
    ids = sorted(INDEX.accounts)
    targets = [Target(a, None) for a in ids]
    units = cut_units(
        [("t.yaml", "T", targets)],
        INDEX,
        strategy=FanOutStrategy.ACCOUNT,
        delivery_mode=DeliveryMode.INLINE,
        max_units=1024,
    )
    assert [u.unit for u in units] == list(range(len(ids)))
    names = [u.label.split(": ", 1)[1].rsplit(" (", 1)[0] for u in units]
    assert names == sorted(names, key=str.lower) and names != [_name(INDEX, a) for a in ids]
    assert sorted((u.start, u.stop) for u in units) == [(n, n + 1) for n in range(len(ids))]
