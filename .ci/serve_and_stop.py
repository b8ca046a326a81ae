"""Start ``lro-emulator serve`` on a free port, read one demo operation over HTTP, interrupt it, expect exit 0."""

import re
import signal
import subprocess
import sys
import urllib.request

server = subprocess.Popen(["lro-emulator", "serve", "--port", "0", "--quiet"], stdout=subprocess.PIPE, text=True)
try:
    assert server.stdout is not None
    first = server.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+", first)
    assert found, f"lro-emulator serve printed {first!r}, not its address"
    url = f"{found.group(0)}/v1/projects/demo/locations/global/operations/export-done"
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.status == 200
        assert b'"done":true' in answer.read()
    server.send_signal(signal.SIGINT)
    code = server.wait(timeout=30)
finally:
    if server.poll() is None:
        server.kill()
assert code == 0, f"lro-emulator serve exited with {code} after an interrupt"
print("lro-emulator serve started, served the demo, and stopped")
sys.exit(0)
