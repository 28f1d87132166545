"""Ping a list of (source namespace, target address) pairs in parallel; print the results as JSON.

Arguments: a JSON list of {"src": endpoint, "netns": namespace, "dst": endpoint, "address": ip},
then the count and the timeout. The pings run inside the source namespaces with `ip netns exec`.
"""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor


def ping(pair, count, timeout):
    proc = subprocess.run(
        ["ip", "netns", "exec", pair["netns"], "ping", "-n", "-q", "-c", str(count), "-W", str(timeout),
         "-i", "0.2", pair["address"]],
        capture_output=True, text=True, check=False)
    return dict(pair, ok=proc.returncode == 0, detail=(proc.stdout + proc.stderr).strip().splitlines()[-1:])


def main():
    pairs, count, timeout = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda p: ping(p, count, timeout), pairs))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
