"""Writes `bank.sqlite` and `bank-utf16.sqlite` (the classifier's unit tests read them):
python3 make_sqlite.py (Python's own sqlite3)."""
import os, sqlite3
routing = ["021000021", "011000015", "026009593", "121000358", "061000104", "071000013"]
cards = ["4111111111111111", "5555555555554444", "378282246310005", "4012888888881881",
         "6011111111111117", "3530111333300000"]
for name, encoding in [("bank.sqlite", "UTF-8"), ("bank-utf16.sqlite", "UTF-16le")]:
    if os.path.exists(name):
        os.remove(name)
    db = sqlite3.connect(name)
    db.execute('PRAGMA encoding = "%s"' % encoding)
    db.execute('PRAGMA page_size = 1024')
    db.execute('CREATE TABLE customers (id integer PRIMARY KEY, name text, "SSN" char(9), routing_number char(9), account_number text, card text, email text, note text)')
    db.execute("CREATE TABLE payments (id integer, amount real, reference text, memo text)")
    # 24 customers (every fourth a near miss, one SSN null, one a note long enough to spill
    # over overflow pages, with an e-mail address at its end), ten payments whose reference is
    # a valid routing number under a name that names none: 18 cards, routing numbers and
    # accounts, 17 SSNs, 25 e-mail addresses.
    for i in range(24):
        near = i % 4 == 3
        ssn = None if i == 5 else ("666" if near else "%03d" % (12 + i)) + "%02d%04d" % (10 + i, 1000 + i)
        note = ("x" * 3000 + " overflow@bank.example") if i == 7 else "O'Brien,\tline\nnext"
        db.execute("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (1000 + i, "Customer %d" % i, ssn, "021000022" if near else routing[i % 6],
                    "%010d" % (4000000 + i), "4111111111111112" if near else cards[i % 6],
                    "c%d@bank.example" % i, note))
    for i in range(10):
        db.execute("INSERT INTO payments VALUES (?, ?, ?, ?)", (i, 100.5 + i, "111000025", "invoice %d" % i))
    db.commit()
    db.close()
