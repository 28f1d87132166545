"""The collection against what people use today, measured side by side in one run on this machine.

1. converge: the collection's head-end overlay (overlaynet.vxlan.unicast, head_end) cold and rerun, against a
   shell-loop role (bench/baseline) cold and rerun, an empty play and a one-task play, for N lab hosts;
2. bulk FDB: one bridge_fdb task with many entries (and with one, for Ansible's fixed cost) against
   `bridge -batch` of the same entries, cold and no-change rerun, and the module's peak RSS;
3. data plane: iperf3 between two endpoints over the collection's overlay, over the same overlay built by
   hand with seed 001's commands, and over the bare underlay; DF pings at the overlay MTU and one byte more.

Only ratios mean something (absolute times on these machines are noisy); the targets of issue #10 are
printed next to them. Run it through bench/run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))

import seeds  # noqa: E402 - the tests' helpers, found through the path above
from kernel import (  # noqa: E402
    COLLECTIONS,
    add_netns,
    delete_netns,
    lab,
    ping,
    recap_changed,
    run_playbook,
    sh,
    unique_prefix,
)

PLAYS = ROOT / "bench" / "plays"
BASELINE = ROOT / "bench" / "baseline"
RESULTS = ROOT / "bench" / "results"


def timed(playbook, *args, env, roles=None, expect_unchanged=False):
    extra = {"ANSIBLE_ROLES_PATH": str(roles)} if roles else {}
    started = time.perf_counter()
    proc = run_playbook(playbook, *args, env=dict(env, **extra))
    seconds = time.perf_counter() - started
    if expect_unchanged and set(recap_changed(proc.stdout).values()) != {0}:
        raise AssertionError("%s changed something on its rerun:\n%s" % (playbook, proc.stdout[-3000:]))
    return seconds


def hosts_of(prefix, count):
    return ["%s-h%d" % (prefix, n) for n in range(1, count + 1)]


def prove_head_end(hosts):
    """Two hosts' bridges reach each other across the overlay (temporary addresses, removed again)."""
    first, last = hosts[0], hosts[-1]
    sh("ip", "addr", "add", "10.234.0.1/16", "dev", "br0", netns=first)
    sh("ip", "addr", "add", "10.234.0.2/16", "dev", "br0", netns=last)
    try:
        reached, output = ping(first, "10.234.0.2")
        if not reached:
            raise AssertionError("the head-end overlay does not carry a ping %s -> %s: %s" % (first, last, output))
    finally:
        sh("ip", "addr", "del", "10.234.0.1/16", "dev", "br0", netns=first, check=False)
        sh("ip", "addr", "del", "10.234.0.2/16", "dev", "br0", netns=last, check=False)


def delete_links(hosts, *names):
    for host in hosts:
        for name in names:
            sh("ip", "link", "del", name, netns=host, check=False)


def converge(count):
    prefix = unique_prefix()
    hosts = hosts_of(prefix, count)
    collection, baseline = PLAYS / "collection_head_end.yml", BASELINE / "shell_head_end.yml"
    with lab(prefix, hosts=count) as env:
        t = {"hosts": count}
        t["empty"] = timed(PLAYS / "empty.yml", env=env)
        t["one_task"] = timed(PLAYS / "one_task.yml", env=env)
        t["collection_cold"] = timed(collection, env=env)
        prove_head_end(hosts)
        t["collection_rerun"] = timed(collection, env=env, expect_unchanged=True)
        run_playbook(collection, "-e", "bench_state=absent", env=env)
        t["baseline_cold"] = timed(baseline, env=env, roles=BASELINE / "roles")
        prove_head_end(hosts)
        t["baseline_rerun"] = timed(baseline, env=env, roles=BASELINE / "roles")
        delete_links(hosts, "vxlan0", "br0")
    return t


def fdb_entries(count):
    return [{"mac": "02:%02x:%02x:%02x:%02x:%02x" % (i >> 32 & 255, i >> 24 & 255, i >> 16 & 255, i >> 8 & 255, i & 255),
             "dst": "192.0.2.%d" % (2 + i % 250)} for i in range(count)]


def fresh_vxlan(netns):
    sh("ip", "link", "del", "vxlan0", netns=netns, check=False)
    sh("ip", "link", "add", "vxlan0", "type", "vxlan", "id", "1", "dstport", "4789", "local", "192.0.2.1",
       "nolearning", netns=netns)


def module_peak_rss_kib(netns, entries):
    """Peak RSS of one bridge_fdb module process applying `entries` (Ansible's debug entry point)."""
    args = {"ANSIBLE_MODULE_ARGS": {"netns": netns, "device": "vxlan0", "entries": entries, "purge": True}}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(args, handle)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "ansible_collections.overlaynet.vxlan.plugins.modules.bridge_fdb",
                                 handle.name], stdout=subprocess.DEVNULL, env=dict(os.environ, PYTHONPATH=str(COLLECTIONS)))
        status, usage = os.wait4(proc.pid, 0)[1:]
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        os.unlink(handle.name)
    if proc.returncode != 0:
        raise AssertionError("bridge_fdb exited %d" % proc.returncode)
    return usage.ru_maxrss


def bridge_batch(netns, entries, verb):
    with tempfile.NamedTemporaryFile("w", suffix=".batch", delete=False) as handle:
        handle.writelines("fdb %s %s dev vxlan0 dst %s self permanent\n" % (verb, e["mac"], e["dst"]) for e in entries)
    try:
        started = time.perf_counter()
        sh("ip", "netns", "exec", netns, "bridge", "-batch", handle.name)
        return time.perf_counter() - started
    finally:
        os.unlink(handle.name)


def bulk_fdb(count):
    netns = unique_prefix() + "-fdb"
    add_netns(netns)
    work = Path(tempfile.mkdtemp(prefix="bench-fdb-"))
    try:
        many, one = fdb_entries(count), fdb_entries(1)
        (work / "many.json").write_text(json.dumps(many))
        (work / "one.json").write_text(json.dumps(one))

        def task(name, read_back=False):
            return timed(PLAYS / "bulk_fdb.yml", "-e", "bench_netns=" + netns, "-e",
                         "bench_entries_file=%s" % (work / name), "-e", "bench_read_back=%s" % read_back, env={})

        t = {"entries": count}
        fresh_vxlan(netns)
        t["task_one"] = task("one.json")
        fresh_vxlan(netns)
        t["task_cold"] = task("many.json")
        t["task_rerun"] = task("many.json")
        t["task_rerun_read_back"] = task("many.json", read_back=True)
        applied = len(sh("bridge", "fdb", "show", "dev", "vxlan0", netns=netns).splitlines())
        if applied < count:
            raise AssertionError("bridge_fdb left %d of %d entries" % (applied, count))
        fresh_vxlan(netns)
        t["batch_cold"] = bridge_batch(netns, many, "add")
        t["batch_rerun"] = bridge_batch(netns, many, "replace")
        fresh_vxlan(netns)
        t["module_peak_rss_mib"] = module_peak_rss_kib(netns, many) / 1024
        return t
    finally:
        delete_netns(netns)
        for path in work.iterdir():
            path.unlink()
        work.rmdir()


def iperf(client, server, address, seconds):
    sh("ip", "netns", "exec", server, "iperf3", "-s", "-1", "-D", "-B", address)
    time.sleep(0.3)
    out = sh("ip", "netns", "exec", client, "iperf3", "-c", address, "-t", str(seconds), "-J")
    return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9


def df_ping(netns, address, size):
    return subprocess.run(["ip", "netns", "exec", netns, "ping", "-c", "1", "-W", "1", "-M", "do", "-s", str(size),
                           address], capture_output=True, check=False).returncode == 0


def endpoints(prefix, hosts):
    made = []
    for number, host in enumerate(hosts, 1):
        made.append(seeds.container(host, "%s-e%d" % (prefix, number), "10.233.0.%d/16" % (10 + number), None))
    return made


def vxlan_attributes(netns):
    """What decides the tunnel's data path: the vxlan device's attributes, MTU and flags (not its MAC)."""
    link = json.loads(sh("ip", "-d", "-j", "link", "show", "vxlan0", netns=netns))[0]
    return {"mtu": link["mtu"], "flags": sorted(link["flags"]), "vxlan": link["linkinfo"]["info_data"]}


def data_plane(seconds, repeats):
    """Best of `repeats` per overlay. The overlays take turns, in alternating order, so a busy moment of the
    machine hits both; their vxlan devices are compared, so a throughput gap can be told from noise."""
    prefix = unique_prefix()
    hosts = hosts_of(prefix, 2)
    t = {"seconds": seconds, "repeats": repeats, "collection_gbps": 0.0, "by_hand_gbps": 0.0}
    attributes = {}

    def build(kind):
        if kind == "collection":
            run_playbook(PLAYS / "collection_head_end.yml", env=env)
        else:
            seeds.seed001_head_end(hosts[0], ["192.0.2.12"])
            seeds.seed001_head_end(hosts[1], ["192.0.2.11"])
        attributes[kind] = vxlan_attributes(hosts[0])
        return endpoints(prefix, hosts)

    with lab(prefix, hosts=2) as env:
        made = []
        try:
            t["underlay_gbps"] = max(iperf(hosts[0], hosts[1], "192.0.2.12", seconds) for attempt in range(repeats))
            for attempt in range(repeats):
                for kind in ("collection", "by_hand") if attempt % 2 == 0 else ("by_hand", "collection"):
                    made = build(kind)
                    t[kind + "_gbps"] = max(t[kind + "_gbps"], iperf(made[0], made[1], "10.233.0.12", seconds))
                    if "overlay_mtu" not in t and kind == "collection":
                        mtu = attributes[kind]["mtu"]
                        t["overlay_mtu"] = mtu
                        t["df_at_mtu_passes"] = df_ping(made[0], "10.233.0.12", mtu - 28)
                        t["df_one_byte_more_fails"] = not df_ping(made[0], "10.233.0.12", mtu - 27)
                    for name in made:
                        delete_netns(name)
                    made = []
                    delete_links(hosts, "vxlan0", "br0")
        finally:
            for name in made:
                delete_netns(name)
            delete_links(hosts, "vxlan0", "br0")
    t["same_vxlan_device"] = attributes["collection"] == attributes["by_hand"]
    return t


def slope(points):
    """Least-squares seconds per host over (hosts, seconds) points."""
    if len(points) < 2:
        return None
    n = len(points)
    xs, ys = [x for x, y in points], [y for x, y in points]
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    var = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var


def verdict(ok):
    return "PASS" if ok else "MISS"


def report(results):
    lines = []
    conv = results["converge"]
    lines.append("converge (seconds; ratios baseline/collection, collection rerun/one-task play)")
    lines.append("%5s %7s %8s %9s %9s %9s %9s %9s %9s %11s" % (
        "hosts", "empty", "1 task", "coll cold", "coll rerun", "base cold", "base rerun", "cold x", "rerun x",
        "rerun/floor"))
    for t in conv:
        lines.append("%5d %7.1f %8.1f %9.1f %10.1f %9.1f %10.1f %8.1fx %8.1fx %10.2fx" % (
            t["hosts"], t["empty"], t["one_task"], t["collection_cold"], t["collection_rerun"], t["baseline_cold"],
            t["baseline_rerun"], t["baseline_cold"] / t["collection_cold"], t["baseline_rerun"] / t["collection_rerun"],
            t["collection_rerun"] / t["one_task"]))
    for key in ("empty", "one_task", "collection_cold", "collection_rerun", "baseline_cold", "baseline_rerun"):
        value = slope([(t["hosts"], t[key]) for t in conv])
        if value is not None:
            lines.append("  slope %-17s %.3f s per host" % (key, value))
    big = conv[-1]
    targets = [
        ("rerun at N=%d: baseline/collection >= 5x" % big["hosts"], big["baseline_rerun"] / big["collection_rerun"], 5, True),
        ("rerun at N=%d: collection/one-task play <= 3x" % big["hosts"], big["collection_rerun"] / big["one_task"], 3, False),
        ("cold at N=%d: baseline/collection >= 3x" % big["hosts"], big["baseline_cold"] / big["collection_cold"], 3, True),
    ]
    fdb = results["bulk_fdb"]
    lines.append("")
    lines.append("bulk FDB, %d entries (seconds): task with 1 entry %.2f, cold %.2f, rerun %.2f (with read_back: %.2f); "
                 "bridge -batch add %.2f, replace %.2f; module peak RSS %.1f MiB" % (
                     fdb["entries"], fdb["task_one"], fdb["task_cold"], fdb["task_rerun"], fdb["task_rerun_read_back"],
                     fdb["batch_cold"], fdb["batch_rerun"], fdb["module_peak_rss_mib"]))
    targets += [
        ("FDB cold: (task - 1-entry task)/bridge -batch <= 3x", (fdb["task_cold"] - fdb["task_one"]) / fdb["batch_cold"],
         3, False),
        ("FDB no-change rerun: (task - 1-entry task)/bridge -batch replace <= 1x",
         max(fdb["task_rerun"] - fdb["task_one"], 0) / fdb["batch_rerun"], 1, False),
    ]
    data = results["data_plane"]
    lines.append("")
    lines.append("data plane, iperf3 best of %d x %d s (Gbit/s): underlay %.2f, collection overlay %.2f, by hand %.2f; "
                 "overlay MTU %d: DF ping at MTU %s, one byte more %s; the two vxlan devices are %s" % (
                     data["repeats"], data["seconds"], data["underlay_gbps"], data["collection_gbps"], data["by_hand_gbps"],
                     data["overlay_mtu"], "passes" if data["df_at_mtu_passes"] else "FAILS",
                     "fails" if data["df_one_byte_more_fails"] else "PASSES",
                     "the same (attributes, MTU, flags)" if data["same_vxlan_device"] else "DIFFERENT"))
    targets.append(("iperf3: collection/by hand >= 0.98x", data["collection_gbps"] / data["by_hand_gbps"], 0.98, True))
    targets.append(("no fragmentation: DF at MTU passes, +1 byte fails",
                    float(data["df_at_mtu_passes"] and data["df_one_byte_more_fails"]), 1, True))
    lines.append("")
    lines.append("targets (issue #10)")
    results["targets"] = []
    for name, value, bound, at_least in targets:
        ok = value >= bound if at_least else value <= bound
        results["targets"].append({"target": name, "measured": round(value, 3), "met": ok})
        miss = "" if ok else "  (off by %.2fx)" % ((bound / value) if at_least and value else (value / bound))
        lines.append("  %s %-70s %.2f%s" % (verdict(ok), name, value, miss))
    return "\n".join(lines)


def plot(results, path):
    import matplotlib  # noqa: PLC0415 - only the full run draws, and only it installs matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    conv = results["converge"]
    hosts = [t["hosts"] for t in conv]
    figure, axes = plt.subplots(figsize=(8, 5))
    for key, label in (("baseline_cold", "shell-loop role, cold"), ("baseline_rerun", "shell-loop role, rerun"),
                       ("collection_cold", "collection, cold"), ("collection_rerun", "collection, rerun"),
                       ("one_task", "one module task (floor)"), ("empty", "empty play")):
        axes.plot(hosts, [t[key] for t in conv], marker="o", label=label)
    axes.set_xlabel("network-namespace hosts")
    axes.set_ylabel("wall time (s)")
    axes.set_title("Head-end VXLAN converge: overlaynet.vxlan vs a shell-loop role")
    axes.set_xticks(hosts)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def machine():
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown")
    versions = subprocess.run([sys.executable, "-m", "pip", "list", "--format=json"], capture_output=True, text=True,
                              check=False).stdout
    packages = {p["name"].lower(): p["version"] for p in json.loads(versions or "[]")}
    return {"cpus": os.cpu_count(), "cpu": model, "kernel": platform.release(), "python": platform.python_version(),
            "ansible-core": packages.get("ansible-core"), "pyroute2": packages.get("pyroute2"),
            "memory_mib": int(Path("/proc/meminfo").read_text().split()[1]) // 1024}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--quick", action="store_true", help="N = 4 and 1,000 entries (the test command runs this)")
    options = parser.parse_args()
    sizes, entries, seconds, repeats = ([4], 1000, 2, 1) if options.quick else ([4, 8, 16, 32], 10000, 5, 3)
    name = "quick" if options.quick else "full"
    started = time.perf_counter()
    results = {"mode": name, "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
               "machine": machine(), "converge": []}
    for count in sizes:
        print("== converge, %d hosts" % count, flush=True)
        results["converge"].append(converge(count))
    print("== bulk FDB, %d entries" % entries, flush=True)
    results["bulk_fdb"] = bulk_fdb(entries)
    print("== data plane", flush=True)
    results["data_plane"] = data_plane(seconds, repeats)
    table = report(results)
    results["seconds"] = round(time.perf_counter() - started, 1)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / ("%s.json" % name)).write_text(json.dumps(results, indent=1) + "\n")
    (RESULTS / ("%s.txt" % name)).write_text(table + "\n")
    if not options.quick:
        plot(results, RESULTS / "full.png")
    print("results in %s (%.0f s)" % (RESULTS, results["seconds"]))


if __name__ == "__main__":
    main()
