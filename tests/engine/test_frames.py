"""pandas results: exact Arrow-backed dtypes by default, NumPy ones on request (issue 11, item 22)."""

from __future__ import annotations

import decimal
from datetime import date

import pandas as pd
import pytest

import connector
from connector.emulator import Emulator
from connector.errors import ProgrammingError

from .conftest import Sessions, Truth, calls_since, data_calls

SQL = ("SELECT id, Annual_Revenue, Last_Contacted_On, Created_Time, Lead_Score, Email_Opt_Out, Email, Interests "
       "FROM Leads ORDER BY id")
DTYPES = {
    "pyarrow": {"id": "string[pyarrow]", "Annual_Revenue": "decimal128(18, 2)[pyarrow]",
                "Last_Contacted_On": "date32[day][pyarrow]", "Created_Time": "timestamp[us, tz=UTC][pyarrow]",
                "Lead_Score": "int64[pyarrow]", "Email_Opt_Out": "bool[pyarrow]", "Email": "string[pyarrow]",
                "Interests": "list<l: string>[pyarrow]"},
    "numpy_nullable": {"id": "string", "Annual_Revenue": "Float64", "Last_Contacted_On": "datetime64[ms]",
                       "Created_Time": "datetime64[us, UTC]", "Lead_Score": "Int64", "Email_Opt_Out": "boolean",
                       "Email": "string", "Interests": "object"},
    "numpy": {"id": "object", "Annual_Revenue": "float64", "Last_Contacted_On": "datetime64[ms]",
              "Created_Time": "datetime64[us, UTC]", "Lead_Score": "Int64", "Email_Opt_Out": "bool",
              "Email": "object", "Interests": "object"},
    "object": {"Annual_Revenue": "object", "Last_Contacted_On": "object"},
}


@pytest.fixture(scope="module")
def want(truth: Truth) -> pd.DataFrame:
    return truth.query(SQL, modules=("Leads",)).to_pandas()


@pytest.mark.parametrize("backend", list(DTYPES))
def test_dtype_backends(sessions: Sessions, want: pd.DataFrame, backend: str) -> None:
    with connector.connect(sessions.session()) as conn:
        df = connector.read_sql(SQL, conn, dtype_backend=backend)
        again = conn.cursor().execute(SQL).fetch_df(dtype_backend=backend)
    pd.testing.assert_frame_equal(df, again)
    got = {name: str(dtype) for name, dtype in df.dtypes.items()}
    assert {k: got[k] for k in DTYPES[backend]} == DTYPES[backend]
    assert list(df["id"]) == list(want["id"])
    revenue = [None if pd.isna(v) else v for v in df["Annual_Revenue"]]
    expected = [None if v is None or pd.isna(v) else v for v in want["Annual_Revenue"]]
    if backend in ("pyarrow", "object"):  # exact: the very decimals Zoho holds
        assert all(isinstance(v, decimal.Decimal) for v in revenue if v is not None)
        assert revenue == expected
    else:
        assert revenue == [None if v is None else float(v) for v in expected]
    days = [None if pd.isna(v) else (v if isinstance(v, date) and not isinstance(v, pd.Timestamp) else v.date())
            for v in df["Last_Contacted_On"]]
    assert days == [None if v is None or pd.isna(v) else v for v in want["Last_Contacted_On"]]
    scores = [None if pd.isna(v) else int(v) for v in df["Lead_Score"]]
    assert scores == [None if pd.isna(v) else int(v) for v in want["Lead_Score"]]


def test_the_default_is_exact(sessions: Sessions) -> None:
    with connector.connect(sessions.session()) as conn:
        df = connector.read_sql("SELECT Annual_Revenue FROM Leads WHERE Annual_Revenue IS NOT NULL LIMIT 5", conn)
    assert isinstance(df["Annual_Revenue"].dtype, pd.ArrowDtype)
    assert all(isinstance(v, decimal.Decimal) for v in df["Annual_Revenue"])


def test_an_unknown_backend_is_refused_before_any_read(org: Emulator, sessions: Sessions) -> None:
    before = data_calls(org)
    with connector.connect(sessions.session()) as conn:
        with pytest.raises(ProgrammingError, match="dtype_backend must be one of pyarrow, numpy_nullable, numpy"):
            connector.read_sql(SQL, conn, dtype_backend="numpy_nulable")
        cur = conn.cursor().execute("SELECT id FROM Leads LIMIT 3")
        with pytest.raises(ProgrammingError, match="dtype_backend"):
            cur.fetch_df(dtype_backend="arrow")
        assert len(cur.fetchall()) == 3  # the rows were not consumed by the refused call
    assert set(calls_since(org, before)) <= {"list_records", "count_records"}
