"""Search stays correct while Zoho's index lags (search-and-coql.md A.4).

A private org whose search index trails writes by 60 s, read with
``SearchIndexLag=120``: right after REST updates and ``/__emulator/mutate``,
the index still shows old values, yet the search reader neither misses a
just-edited record nor shows its stale values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connector.emulator import Emulator
from connector.model import Pushdown
from connector.readers import SearchReader
from connector.readers.base import resolve_columns
from connector.session import ZohoSession

from ..conftest import ZohoClient
from .expected import assert_same_rows, expected_table, read_table, where

SQL = "Lead_Source = 'Web Download'"
PUSHDOWN = Pushdown(criteria="(Lead_Source:equals:Web Download)", coql_where="Lead_Source = 'Web Download'")


def _search_ids(client: ZohoClient) -> set[str]:
    r = client.get("/Leads/search", params={"criteria": PUSHDOWN.criteria, "converted": "both", "per_page": 200,
                                            "fields": "Lead_Source"})
    return set() if r.status_code == 204 else {x["id"] for x in r.json()["data"]}


def test_search_after_edits_is_neither_missing_nor_stale(make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(records=600, seed=5, index_lag_s=60)
    client = ZohoClient(emu)
    before = client.export("Leads")
    editable = [r for r in before if not r["Converted__s"]]
    matching = [r for r in editable if r["Lead_Source"] == "Web Download"]
    others = [r for r in editable if r["Lead_Source"] not in ("Web Download", None)]
    leaving, staying = matching[0], matching[1]
    joining = others[0]
    # One record stops matching, one starts matching, one keeps matching with a new value elsewhere.
    r = client.put("/Leads", json={"trigger": [], "data": [
        {"id": leaving["id"], "Lead_Source": "Chat"},
        {"id": joining["id"], "Lead_Source": "Web Download"},
        {"id": staying["id"], "City": "Zürich \"neu\"\nzweite Zeile"}]})
    assert r.status_code in (200, 202), r.text
    r = client.admin("POST", "mutate", json={"module": "Leads", "creates": 8, "updates": 40, "seed": 3})
    assert r.status_code == 200, r.text

    # The index really is behind: it still lists the record that left and not the one that joined.
    lagging = _search_ids(client)
    assert leaving["id"] in lagging and joining["id"] not in lagging

    with ZohoSession(emu.connection_string + ";SearchIndexLag=120") as session:
        ctx = session.reader_context()
        ts = ctx.catalog.table("Leads")
        got = read_table(SearchReader(ctx).batches("Leads", None, PUSHDOWN), ts.arrow_schema)
        after: list[dict[str, Any]] = client.export("Leads")
        want = where(expected_table(after, ts), SQL)
        ids = set(where(got, SQL).column("id").to_pylist())
        assert joining["id"] in ids and leaving["id"] not in ids
        assert_same_rows(where(got, SQL), want, tolerant={"Days_Open"}, label="search under index lag")
        city = where(got, f"id = '{staying['id']}'").column("City").to_pylist()
        assert city == ["Zürich \"neu\"\nzweite Zeile"]


def test_search_over_the_cap_falls_back_to_coql(make_emulator: Callable[..., Emulator]) -> None:
    """More than 2,000 matches: search alone would stop at 2,000; the reader answers from COQL."""
    emu = make_emulator(records=2_400, seed=8, sizes={"Leads": 2_300})
    client = ZohoClient(emu)
    with ZohoSession(emu.connection_string) as session:
        ctx = session.reader_context()
        ts = ctx.catalog.table("Leads")
        pd = Pushdown(criteria="(Email_Opt_Out:equals:false)", coql_where="Email_Opt_Out = false")
        columns = ["Email_Opt_Out", "Full_Name", "Owner_Name"]
        got = read_table(SearchReader(ctx).batches("Leads", columns, pd), ts.select(resolve_columns(ts, columns)))
        want = where(expected_table(client.export("Leads"), ts, columns), "NOT Email_Opt_Out")
        assert want.num_rows > 2_000
        assert_same_rows(where(got, "NOT Email_Opt_Out"), want, label="search fallback")
