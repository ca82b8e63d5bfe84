"""Turns bench/run.sh's raw results into the table pasted in BENCHMARKS.md: the median over
the rounds of each figure, for the direct path, the nginx yardstick (when it ran) and sluice."""

import json
import os
import statistics
import sys

results, clk_tck, seconds, concurrency, rate, rounds, targets = sys.argv[1:8]
phases = sys.argv[8].split() if len(sys.argv) > 8 else ["rate", "max", "stream-rate", "stream-max"]
clk_tck, rounds, targets = int(clk_tck), int(rounds), targets.split()
proxies = [t for t in targets if t != "direct"]


def load(name):
    with open(f"{results}/{name}.json") as f:
        return json.load(f)


def read(name):
    with open(f"{results}/{name}") as f:
        return int(f.read().strip())


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def answered(run):
    codes = run.get("statusCodeDistribution", {})
    good = sum(v for k, v in codes.items() if k.startswith("2"))
    return good, sum(codes.values()) - good


def oha_figures(target, phase, r):
    run = load(f"{target}-{phase}-{r}")
    good, bad = answered(run)
    ticks = read(f"{target}-{phase}-{r}.ticks")
    return {
        "p50": run["latencyPercentiles"]["p50"] * 1000,
        "p99": run["latencyPercentiles"]["p99"] * 1000,
        "rps": run["summary"]["requestsPerSec"],
        "cpu_us": ticks / clk_tck * 1e6 / good if target != "direct" and good else None,
        "errors": bad,
    }


def stream_figures(target, phase, r):
    run = load(f"{target}-{phase}-{r}")
    ticks = read(f"{target}-{phase}-{r}.ticks")
    served = run["rps"] * float(seconds)
    return {
        "p50": run["ttft_p50_ms"],
        "p99": run["ttft_p99_ms"],
        "rps": run["rps"],
        "cpu_us": ticks / clk_tck * 1e6 / served if target != "direct" and served else None,
        "errors": run["errors"],
    }


def figures(phase):
    read_one = stream_figures if phase.startswith("stream") else oha_figures
    per_target = {}
    for target in targets:
        runs = [read_one(target, phase, r) for r in range(1, rounds + 1)]
        per_target[target] = {key: median([run[key] for run in runs]) for key in runs[0]}
        per_target[target]["errors"] = sum(run["errors"] for run in runs)
        # Added latency per round (each proxy against the direct run seconds before it),
        # then the median: robust against the machine drifting between rounds.
        if target != "direct":
            for q in ("p50", "p99"):
                per_target[target][f"added_{q}"] = median(
                    [run[q] - direct[q] for run, direct in zip(runs, direct_runs)]
                )
        else:
            direct_runs = runs
    return per_target


def cell(value, unit, signed=False):
    if value is None:
        return ""
    if unit == "ms":
        return f"{value:+.3f} ms" if signed else f"{value:.3f} ms"
    if unit in ("µs", "MB"):
        return f"{value:.1f} {unit}"
    return f"{value:.0f} {unit}"


columns = ["direct"] + proxies + [f"{p} added" for p in proxies]
rows, summary = [], {
    "seconds": int(seconds),
    "concurrency": int(concurrency),
    "rate": int(rate),
    "rounds": rounds,
}
for phase, label in (
    ("rate", f"at {rate} req/s"),
    ("max", "at saturation"),
    ("stream-rate", f"at {rate} req/s"),
    ("stream-max", "at saturation"),
):
    if phase not in phases:
        continue
    what = "streamed time to first token" if phase.startswith("stream") else "non-streamed latency"
    kind = "streamed" if phase.startswith("stream") else "non-streamed"
    per = figures(phase)
    for q in ("p50", "p99"):
        row = [f"{what} {q}, {label}"]
        row += [cell(per[t][q], "ms") for t in targets]
        row += [cell(per[p][f"added_{q}"], "ms", signed=True) for p in proxies]
        rows.append(row)
        for p in proxies:
            summary[f"{p}_added_{q}_ms_{phase}"] = per[p][f"added_{q}"]
    rows.append([f"{kind} throughput, {label}"] + [cell(per[t]["rps"], "req/s") for t in targets] + [""] * len(proxies))
    rows.append([f"{kind} CPU per request, {label}", ""] + [cell(per[p]["cpu_us"], "µs") for p in proxies] + [""] * len(proxies))
    rows.append([f"{kind} failed requests, {label}"] + [str(per[t]["errors"]) for t in targets] + [""] * len(proxies))
    for t in targets:
        summary[f"{t}_rps_{phase}"] = per[t]["rps"]
        summary[f"{t}_errors_{phase}"] = per[t]["errors"]
        if t != "direct":
            summary[f"{t}_cpu_us_{phase}"] = per[t]["cpu_us"]

rss = {t: read(f"{t}.rss_kb") / 1024 for t in proxies if os.path.exists(f"{results}/{t}.rss_kb")}
rows.append(["RSS after the run", ""] + [cell(rss.get(p), "MB") if p in rss else "" for p in proxies] + [""] * len(proxies))
for p, mb in rss.items():
    summary[f"{p}_rss_mb"] = mb
with open(f"{results}/summary.json", "w") as f:
    json.dump(summary, f, indent=2)

print(f"Medians of {rounds} interleaved rounds of {seconds} s, {concurrency} connections.")
print()
print("| measure | " + " | ".join(columns) + " |")
print("| --- " * (len(columns) + 1) + "|")
for row in rows:
    print("| " + " | ".join(row) + " |")
