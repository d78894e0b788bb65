"""Writes this directory's Avro files (the classifier's unit tests read them):
python3 make.py (fastavro, and cramjam for snappy and zstandard, from PyPI)."""
import decimal
from fastavro import writer, parse_schema

routing = ["021000021", "011000015", "026009593", "121000358", "061000104", "071000013"]
cards = ["4111111111111111", "5555555555554444", "378282246310005", "4012888888881881",
         "6011111111111117", "3530111333300000"]
bics = ["CHASUS33", "DEUTDEFFXXX", "BNPAFRPP", "NWBKGB2L", "COBADEFF", "BARCGB22"]
schema = parse_schema({
    "type": "record", "name": "Customer", "namespace": "bank",
    "fields": [
        {"name": "customer", "type": "long"},
        {"name": "name", "type": "string"},
        {"name": "ssn", "type": ["null", "string"]},
        {"name": "routing_number", "type": "string"},
        {"name": "account_number", "type": "string"},
        {"name": "reference", "type": "string"},
        {"name": "card", "type": "string"},
        {"name": "swift_bic", "type": "string"},
        {"name": "email", "type": "string"},
        {"name": "balance", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}},
        {"name": "active", "type": "boolean"},
        {"name": "segment", "type": {"type": "enum", "name": "Segment", "symbols": ["RETAIL", "PRIVATE"]}},
        {"name": "holder", "type": ["null", {"type": "record", "name": "Holder", "fields": [
            {"name": "name", "type": "string"}, {"name": "ssn", "type": "string"}]}]},
        {"name": "phones", "type": {"type": "array", "items": "string"}},
        {"name": "tags", "type": {"type": "map", "values": "string"}},
    ],
})
# 24 customers; every fourth a near miss (SSN area 666, a routing number's checksum, a card's
# Luhn digit, a BIC of no country); one SSN null. Each has a holder (but the sixth), whose SSN
# is valid, and two e-mail addresses in its tags. Counts: 18 cards, routing numbers, accounts
# and BICs, 17 + 23 SSNs, 24 + 48 e-mail addresses.
records = []
for i in range(24):
    near = i % 4 == 3
    ssn = ("666" if near else "%03d" % (12 + i)) + "%02d%04d" % (10 + i, 1000 + i)
    records.append({
        "customer": 1000 + i, "name": "Customer %d\twith a tab" % i,
        "ssn": None if i == 5 else ssn,
        "routing_number": "021000022" if near else routing[i % 6],
        "account_number": "%010d" % (4000000 + i), "reference": "111000025",
        "card": "4111111111111112" if near else cards[i % 6],
        "swift_bic": "CHASZZ33" if near else bics[i % 6],
        "email": ["ann@bank.example", "bob@bank.example", "cy@bank.example"][i % 3],
        "balance": decimal.Decimal("%d.%02d" % (1000 + i, i)), "active": i % 2 == 0,
        "segment": "RETAIL" if i % 2 else "PRIVATE",
        "holder": None if i == 6 else {"name": "Holder %d" % i, "ssn": "%03d%02d%04d" % (100 + i, 20 + i, 2000 + i)},
        "phones": ["+1 212 555 %04d" % i],
        "tags": {"work": "w%d@bank.example" % i, "home": "h%d@bank.example" % i},
    })
for codec in ["null", "deflate", "snappy", "zstandard"]:
    with open("customers-%s.avro" % codec, "wb") as out:
        writer(out, schema, records, codec=codec, sync_interval=2000)
