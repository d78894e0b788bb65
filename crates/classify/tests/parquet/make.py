"""Writes this directory's Parquet files (the classifier's unit tests read them):
python3 make.py (pyarrow, polars and duckdb from PyPI)."""
import decimal
import pyarrow as pa
import pyarrow.parquet as pq

routing = ["021000021", "011000015", "026009593", "121000358", "061000104", "071000013"]
cards = ["4111111111111111", "5555555555554444", "378282246310005", "4012888888881881",
         "6011111111111117", "3530111333300000"]
bics = ["CHASUS33", "DEUTDEFFXXX", "BNPAFRPP", "NWBKGB2L", "COBADEFF", "BARCGB22"]
# 24 customers; every fourth a near miss (SSN area 666, a routing number's checksum, a card's
# Luhn digit, a BIC of no country); one SSN null. Counts: 18 cards, routing numbers, accounts
# and BICs, 17 SSNs, 24 e-mail addresses.
cols = {k: [] for k in ["customer", "name", "ssn", "routing_number", "account_number",
                        "reference", "card", "swift_bic", "region", "email", "balance", "active"]}
for i in range(24):
    near = i % 4 == 3
    cols["customer"].append(1000 + i)
    cols["name"].append("Customer %d\twith a tab" % i)
    ssn = ("666" if near else "%03d" % (12 + i)) + "%02d%04d" % (10 + i, 1000 + i)
    cols["ssn"].append(None if i == 5 else ssn)
    cols["routing_number"].append("021000022" if near else routing[i % len(routing)])
    cols["account_number"].append("%010d" % (4000000 + i))
    cols["reference"].append("111000025")
    cols["card"].append("4111111111111112" if near else cards[i % len(cards)])
    cols["swift_bic"].append("CHASZZ33" if near else bics[i % len(bics)])
    cols["region"].append("EASTUSNY")
    cols["email"].append(["ann@bank.example", "bob@bank.example", "cy@bank.example"][i % 3])
    cols["balance"].append(decimal.Decimal("%d.%02d" % (1000 + i, i)))
    cols["active"].append(i % 2 == 0)
table = pa.table({k: pa.array(v, type=pa.decimal128(12, 2)) if k == "balance" else v
                  for k, v in cols.items()})
for codec, version, dictionary in [("snappy", "1.0", True), ("zstd", "2.0", False),
                                   ("gzip", "1.0", False), ("none", "2.0", True)]:
    name = "customers-%s-v%s-%s.parquet" % (codec, version[0], "dict" if dictionary else "plain")
    pq.write_table(table, name, compression=codec, data_page_version=version,
                   use_dictionary=dictionary, row_group_size=10)
# The delta encodings (parquet-mr's version 2 writers): the account numbers as whole numbers.
delta = table.drop_columns(["balance", "active"]).set_column(
    4, "account_number", pa.array([4000000 + i for i in range(24)], pa.int64()))
pq.write_table(delta, "customers-delta.parquet", use_dictionary=False, data_page_version="2.0",
               column_encoding={"ssn": "DELTA_BYTE_ARRAY", "routing_number": "DELTA_BYTE_ARRAY",
                                "card": "DELTA_LENGTH_BYTE_ARRAY", "email": "DELTA_BYTE_ARRAY",
                                "swift_bic": "DELTA_LENGTH_BYTE_ARRAY",
                                "account_number": "DELTA_BINARY_PACKED",
                                "customer": "DELTA_BINARY_PACKED"})
# LZ4.
pq.write_table(table, "customers-lz4.parquet", compression="lz4")
# A struct (read) and a list (not), by polars and DuckDB.
import polars as pl, duckdb
frame = pl.DataFrame({
    "iban": ["GB82WEST12345698765432", "DE89370400440532013000", None],
    "holder": [{"name": "Ann", "ssn": "123456789"}, {"name": "Bob", "ssn": "234567890"}, None],
    "emails": [["ann@bank.example"], ["bob@bank.example", "b2@bank.example"], []],
})
frame.write_parquet("nested-polars.parquet")
duckdb.sql("copy (select * from frame) to 'nested-duckdb.parquet' (format parquet)")
