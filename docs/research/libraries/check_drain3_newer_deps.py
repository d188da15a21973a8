"""Does drain3 0.9.11 work with today's cachetools and jsonpickle, despite its exact pins?

    python3 -m venv /tmp/libvenv_newdeps
    /tmp/libvenv_newdeps/bin/pip install --no-deps drain3==0.9.11
    /tmp/libvenv_newdeps/bin/pip install cachetools jsonpickle      # 8.0.2 and 4.1.4 on 2026-11-30
    /tmp/libvenv_newdeps/bin/python docs/research/libraries/check_drain3_newer_deps.py

Exercises both: cachetools (the LRU of clusters, drain_max_clusters) and jsonpickle (state saved
and loaded again through a persistence handler).
"""

import logging
import os
import sys
from importlib.metadata import version

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import project_code  # noqa: E402

from drain3 import TemplateMiner  # noqa: E402
from drain3.memory_buffer_persistence import MemoryBufferPersistence  # noqa: E402
from drain3.template_miner_config import TemplateMinerConfig  # noqa: E402

logging.disable(logging.CRITICAL)
print({name: version(name) for name in ("drain3", "cachetools", "jsonpickle")})
pairs = project_code.test_templates()["generated_lines"](20000, 7)
for max_clusters in (None, 8):
    config = TemplateMinerConfig()
    config.drain_max_clusters = max_clusters
    persistence = MemoryBufferPersistence()
    miner = TemplateMiner(persistence, config)
    for _, message in pairs:
        miner.add_log_message(message)
    miner.save_state("check")
    reloaded = TemplateMiner(persistence, config)   # load_state: jsonpickle.loads
    same = sorted(c.get_template() for c in miner.drain.clusters) == \
        sorted(c.get_template() for c in reloaded.drain.clusters)
    print(f"max_clusters {max_clusters}: {len(miner.drain.clusters)} clusters, reloaded "
          f"{len(reloaded.drain.clusters)}, same templates after reload: {same}")
