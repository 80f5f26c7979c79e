"""The Ray executor on a local two-node cluster with fake GPUs (a custom resource per node)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenergy.sweep import Status, parse_spec, sweep
from tokenergy.sweep.ray_executor import RESOURCE_ENV

ray = pytest.importorskip("ray", reason="the ray extra is not installed")
cluster_utils = pytest.importorskip("ray.cluster_utils")


@pytest.mark.slow
def test_configurations_run_on_both_nodes_and_land_in_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tokenergy.store import Store

    cluster = cluster_utils.Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "resources": {"fakegpu": 1}}
    )
    cluster.add_node(num_cpus=1, resources={"fakegpu": 1})
    monkeypatch.setenv(RESOURCE_ENV, "fakegpu")
    spec = parse_spec(
        {
            "name": "ray",
            "server": {
                "command": "tokenergy sim serve --port {port} --max-batch {batch_cap} --speed 4",
                "ready_timeout_s": 180,
                "stop_grace_s": 5,
            },
            "parameters": {"batch_cap": [4, 16]},
            "workload": {"isl": 64, "osl": 32, "concurrency": [4], "num_prompts": 24},
            "meters": {"specs": ["dcgm:{url}/dcgm/metrics?interval=0.1s"], "min_window_s": 0.2},
        }
    )
    try:
        ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
        store = Store(tmp_path / "home")
        result = sweep(spec, tmp_path / "out", executor="ray", store=store)
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert [o.status for o in result.outcomes] == [Status.OK, Status.OK]
    assert len({o.node for o in result.outcomes}) == 2  # one fake GPU per node: both used
    for outcome in result.outcomes:
        assert (tmp_path / "out" / outcome.id / "points" / "run.json").exists()
        assert (tmp_path / "out" / outcome.id / "server.log").exists()
    assert len(store.query()) == 2
