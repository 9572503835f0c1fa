"""Worker processes keep to their share of the cores, in every native thread pool they load."""

from __future__ import annotations

from typing import Any

from cnnreport.jobs.pool import worker_pool
from cnnreport.system import available_cores


def thread_pools_in_a_worker() -> dict[str, Any]:
    """What a worker's libraries would run on: torch's threads and every loaded native pool's."""
    import sklearn.manifold  # noqa: F401 - loads scikit-learn's OpenMP runtime, as t-SNE does
    import torch
    from threadpoolctl import threadpool_info

    pools = {info["filepath"]: info["num_threads"] for info in threadpool_info()}
    return {"torch": torch.get_num_threads(), "pools": pools}


def test_a_workers_native_thread_pools_use_its_share_of_the_cores() -> None:
    # Unbounded, scikit-learn's OpenMP pool takes a thread per core in every worker; several
    # t-SNEs side by side then spin against each other (jobs.pool measured the cost).
    assert available_cores() >= 2, "the test needs a machine where one thread is less than all"
    with worker_pool(1, threads=1) as (pool, _updates):
        seen = pool.submit(thread_pools_in_a_worker).result(timeout=120)
    assert seen["torch"] == 1
    assert seen["pools"] and all(count == 1 for count in seen["pools"].values()), seen
