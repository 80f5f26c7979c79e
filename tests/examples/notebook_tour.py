"""A notebook-style tour using only ``import tokenergy``: convert, ingest, best under 50 ms ITL,
estimate, a metered bench against the bundled simulator. Run by tests/test_notebook_tour.py as
a script (``python tests/examples/notebook_tour.py OUT_DIR``); it asserts what it shows.
"""

import sys
from pathlib import Path

import tokenergy as t

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("notebook-tour")

# 1. Convert a published throughput and a stated power
(conversion,) = t.convert("41.8 tok/s", "1.5kW", isl=1000, osl=500)
assert conversion.power.boundary == t.Boundary.NODE
print(f"convert: {conversion.j_per_token:.1f} J/token, {conversion.wh_per_query:.2f} Wh/query")

# 2. Ingest the packaged ML.ENERGY v3 snapshot and pick the least energy under 50 ms median ITL
results = t.load_sources([t.reference_data("mlenergy")])
best = t.best_under(results, max_itl="50ms", group_by="model,task")
chosen = [c.chosen for c in best.choices if c.chosen is not None]
assert chosen and all(row.median_itl_s is not None and row.median_itl_s <= 0.050 for row in chosen)
print(f"best: {len(chosen)} groups meet ITL <= 50 ms; first {chosen[0].config_label}")

# 3. Estimate per-query energy bottom-up
estimate = t.estimate(samples=20_000, seed=3)
median_wh = estimate.to_dict()["models"][0]["median_wh"]
assert median_wh > 0
print(f"estimate: median {median_wh:.3g} Wh/query ({estimate.boundary}, {estimate.basis})")

# 4. A metered bench against the simulator (DCGM-format meter), stored
store = t.Store(out / "store")
with t.simulator("llama-3.1-8b-h100", speed=20.0) as sim:
    points = t.bench(
        sim.url,
        isl=128,
        osl=64,
        concurrency=[2, 8],
        num_prompts=24,
        meters=t.Meters((f"dcgm:{sim.dcgm_url}?interval=0.2s",), idle_s=0.5, min_window_s=0.2),
        out_dir=out / "runs",
        store=store,
    )
per_token = [p.summary["j_per_token"] for p in points]
assert all(p.result.energy is not None for p in points)
assert len(store.query()) == 2
print(f"bench: J/token at c=2, 8: {per_token}")

# 5. The measured points are results like any other
measured = t.load_sources([out / "runs"])
assert len(measured) == 2
print(f"loaded {len(measured)} measured results; frontier groups:", len(t.frontier(measured)))

# 6. Reconcile the three ways for one model: the factors multiply to each ratio
rec = t.reconcile("Llama-3.1-405B", gpu="H100", precision="fp8")
methods = {row.figure.method.value for row in rec.rows}
assert methods == {"measured", "converted", "estimated"}
for row in rec.rows:
    product = 1.0
    for factor in row.factors:
        product *= factor.ratio
    assert abs(product / row.ratio - 1) < 1e-9
print(
    f"reconcile: {', '.join(f'{r.figure.method.value} {r.wh_per_query:.3f} Wh' for r in rec.rows)}"
)
