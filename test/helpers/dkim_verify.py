"""Independent DKIM check with dkimpy (Debian python3-dkim): verify every DKIM-Signature of the
message on stdin against TXT records given as a JSON object {name: value} in argv[1]. Prints one
line per signature ("d=<domain> s=<selector> pass|fail") and exits 0 only if all pass."""
import json
import re
import sys

import dkim

records = json.loads(sys.argv[1])
message = sys.stdin.buffer.read()


def dnsfunc(name, timeout=5):
    key = name.decode() if isinstance(name, bytes) else name
    value = records.get(key.rstrip('.'))
    return value.encode() if value is not None else b''


d = dkim.DKIM(message)
header_block = message.split(b'\r\n\r\n', 1)[0].decode('latin-1')
fields = re.findall(r'(?im)^dkim-signature:(.*(?:\r\n[ \t].*)*)', header_block)
ok = len(fields) > 0
for i, value in enumerate(fields):
    good = d.verify(idx=i, dnsfunc=dnsfunc)
    tags = dict(re.findall(r'(\w+)=([^;]*)', re.sub(r'\s+', '', value)))
    print(f"d={tags.get('d', '?')} s={tags.get('s', '?')} {'pass' if good else 'fail'}")
    ok = ok and good
print(f"signatures={len(fields)}")
sys.exit(0 if ok else 1)
