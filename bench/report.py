"""Turns bench/run.sh's raw results into the table pasted in BENCHMARKS.md."""

import json
import sys

results, clk_tck, seconds, concurrency, rate = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]


def load(name):
    with open(f"{results}/{name}.json") as f:
        return json.load(f)


def read(name):
    with open(f"{results}/{name}") as f:
        return int(f.read().strip())


def ms(run, q):
    return run["latencyPercentiles"][q] * 1000


def answered(run):
    codes = run.get("statusCodeDistribution", {})
    good = sum(v for k, v in codes.items() if k.startswith("2"))
    return good, sum(codes.values()) - good


rows = []
summary = {"seconds": int(seconds), "concurrency": int(concurrency), "rate": int(rate)}
for phase, label in (("rate", f"at {rate} req/s"), ("max", "at saturation")):
    direct, gateway = load(f"direct-{phase}"), load(f"gateway-{phase}")
    good, bad = answered(gateway)
    cpu_us = read(f"gateway-{phase}.ticks") / clk_tck * 1e6 / max(good, 1)
    for q in ("p50", "p99"):
        rows.append((f"non-streamed latency {q}, {label}", f"{ms(direct, q):.3f} ms", f"{ms(gateway, q):.3f} ms", f"{ms(gateway, q) - ms(direct, q):+.3f} ms"))
        summary[f"added_{q}_ms_{phase}"] = ms(gateway, q) - ms(direct, q)
    rows.append((f"non-streamed throughput, {label}", f"{direct['summary']['requestsPerSec']:.0f} req/s", f"{gateway['summary']['requestsPerSec']:.0f} req/s", ""))
    rows.append((f"gateway CPU per request, {label}", "", f"{cpu_us:.1f} µs", ""))
    rows.append((f"non-2xx answers, {label}", str(answered(direct)[1]), str(bad), ""))
    summary[f"cpu_us_per_request_{phase}"] = cpu_us
    ds, gs = load(f"direct-stream-{phase}"), load(f"gateway-stream-{phase}")
    for q in ("p50", "p99"):
        d, g = ds[f"ttft_{q}_ms"], gs[f"ttft_{q}_ms"]
        rows.append((f"streamed time to first token {q}, {label}", f"{d:.3f} ms", f"{g:.3f} ms", f"{g - d:+.3f} ms"))
        summary[f"added_ttft_{q}_ms_{phase}"] = g - d
    rows.append((f"streamed throughput, {label}", f"{ds['rps']:.0f} req/s", f"{gs['rps']:.0f} req/s", f"{gs['errors']} errors"))

rss_mb = read("gateway.rss_kb") / 1024
rows.append(("gateway RSS after the run", "", f"{rss_mb:.1f} MB", ""))
summary["rss_mb"] = rss_mb
with open(f"{results}/summary.json", "w") as f:
    json.dump(summary, f, indent=2)

print("| measure | direct | through sluice | added |")
print("| --- | --- | --- | --- |")
for row in rows:
    print("| " + " | ".join(row) + " |")
