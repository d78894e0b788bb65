"""Writes this directory's dBase tables (the classifier's unit tests read them):
python3 make.py (the `dbf` package from PyPI). The customer rows of the other fixtures: 24,
every fourth a near miss, one SSN empty; the second record deleted (its data stays in the
file). Counts: 18 cards, routing numbers and accounts, 17 SSNs, 24 e-mail addresses."""
import decimal
import dbf

routing = ["021000021", "011000015", "026009593", "121000358", "061000104", "071000013"]
cards = ["4111111111111111", "5555555555554444", "378282246310005", "4012888888881881",
         "6011111111111117", "3530111333300000"]
rows = []
for i in range(24):
    near = i % 4 == 3
    ssn = "" if i == 5 else ("666" if near else "%03d" % (12 + i)) + "%02d%04d" % (10 + i, 1000 + i)
    rows.append((1000 + i, "Customer %d" % i, ssn, "021000022" if near else routing[i % 6],
                 "%010d" % (4000000 + i), "4111111111111112" if near else cards[i % 6],
                 "c%d@bank.example" % i, "%d.%02d" % (1000 + i, i)))
for name, kind, spec in [
    ("customers-db3.dbf", "db3", "customer N(6,0); name C(20); ssn C(9); routing_no C(9); account_no C(10); card C(16); email C(24); balance N(10,2)"),
    ("customers-vfp.dbf", "vfp", "customer I; name C(20); ssn C(9); routing_no C(9); account_no C(10); card C(16); email C(24); balance Y; rate B"),
]:
    t = dbf.Table(name, spec, dbf_type=kind, codepage="cp1252")
    t.open(mode=dbf.READ_WRITE)
    for r in rows:
        if kind == "db3":
            t.append(r[:7] + (float(r[7]),))
        else:
            t.append(r[:7] + (decimal.Decimal(r[7]), 0.5))
    dbf.delete(t[1])
    t.close()
