"""Regenerates pymoo-0.6.0.1-reference.json, the fixed numbers nsga2-pymoo.test.ts checks against.

Needs python3 + numpy + scipy and pymoo's source at tag 0.6.0.1 (the version NNCF's search pins,
pymoo>=0.6.0.1), unpacked so that $PYMOO_SRC/pymoo is the package, e.g.
    git -C <pymoo clone> archive 0.6.0.1 pymoo | tar -x -C /tmp/pymoo0601
    PYMOO_SRC=/tmp/pymoo0601 python3 tools/reference/pymoo_reference.py > test/search/fixtures/pymoo-0.6.0.1-reference.json
    npx prettier --write test/search/fixtures/pymoo-0.6.0.1-reference.json
pymoo's optional imports (autograd, alive_progress, matplotlib, ...) are stubbed: only the
operators and calc_crowding_distance run. Every np.random.random draw is recorded so the test can
replay the same draws into lonas's operators.
"""
import importlib.abc
import importlib.machinery
import json
import os
import sys
from types import SimpleNamespace
from unittest.mock import MagicMock

sys.path.insert(0, os.environ.get("PYMOO_SRC", "/tmp/pymoo0601"))


class _Stubs(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    roots = ("autograd", "alive_progress", "matplotlib", "cma", "dill", "deprecated")

    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in self.roots:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        module = MagicMock()
        module.__path__ = []
        module.__name__ = spec.name
        module.__spec__ = spec
        return module

    def exec_module(self, module):
        pass


sys.meta_path.insert(0, _Stubs())

import numpy as np  # noqa: E402
from pymoo.algorithms.moo.nsga2 import calc_crowding_distance  # noqa: E402
from pymoo.core.population import Population  # noqa: E402
from pymoo.operators.crossover.sbx import SBX  # noqa: E402
from pymoo.operators.mutation.pm import PM  # noqa: E402
from pymoo.operators.repair.rounding import RoundingRepair  # noqa: E402
from pymoo.version import __version__  # noqa: E402

draws = []
_random = np.random.random


def _recording(*args, **kwargs):
    r = _random(*args, **kwargs)
    draws.extend(np.ravel(r).tolist())
    return r


np.random.random = _recording

upper = np.array([4, 1, 0, 7, 2, 9, 3, 5])
problem = SimpleNamespace(n_var=len(upper), xl=np.zeros(len(upper)), xu=upper.astype(float))
X = np.array([
    [0, 1, 0, 7, 2, 3, 1, 5],
    [4, 0, 0, 0, 2, 9, 3, 0],
    [2, 1, 0, 3, 0, 5, 0, 4],
    [3, 1, 0, 6, 1, 5, 2, 1],
    [1, 0, 0, 2, 2, 8, 3, 3],
    [4, 1, 0, 5, 0, 0, 1, 2],
])
parents = np.array([[0, 1], [2, 3], [4, 5]])


def run(seed, crossover, mutation):
    np.random.seed(seed)
    draws.clear()
    off = crossover(problem, Population.new("X", X), parents=parents)
    crossed = off.get("X").astype(float).tolist()
    n_crossover_draws = len(draws)
    off = mutation(problem, off)
    return {
        "draws": list(draws),
        "crossoverDraws": n_crossover_draws,
        "crossed": crossed,
        "mutated": off.get("X").astype(float).tolist(),
    }


operators = []
for seed, sbx_prob, pm_prob in [(1, 0.9, 0.5), (7, 0.9, 0.5), (11, 0.9, 1.0), (3, 0.5, 1.0)]:
    sbx = dict(prob=sbx_prob, eta=10.0)
    pm = dict(prob=pm_prob, eta=3.0)
    operators.append({
        "seed": seed,
        "sbx": sbx,
        "pm": pm,
        # floats throughout: SBX then PM, neither rounded
        "floats": run(seed, SBX(**sbx, vtype=float), PM(**pm, vtype=float)),
        # SBX rounded, PM not: shows PM's floats on the rounded children
        "crossRounded": run(seed, SBX(**sbx, vtype=float, repair=RoundingRepair()), PM(**pm, vtype=float)),
        # NNCF's operators: both rounded
        "nncf": run(seed, SBX(**sbx, vtype=float, repair=RoundingRepair()),
                    PM(**pm, vtype=float, repair=RoundingRepair())),
    })

rng = np.random.RandomState(5)
random_front = rng.randint(0, 4, size=(14, 2)).astype(float) / 4
crowding_inputs = {
    "repeated points in a front": [[1, 5], [2, 3], [2, 3], [4, 1], [3, 2], [2, 3]],
    "three objectives, ties and repeats": [[0.1, 0.9, 0.5], [0.4, 0.4, 0.5], [0.9, 0.1, 0.5], [0.4, 0.4, 0.5],
                                           [0.2, 0.6, 0.7], [0.4, 0.3, 0.2], [0.9, 0.1, 0.5]],
    "one objective constant": [[1, 2], [3, 2], [2, 2], [5, 2]],
    "all the same point": [[1, 1], [1, 1], [1, 1]],
    "two unique among three": [[1, 2], [1, 2], [2, 1]],
    "two points": [[1, 2], [1, 2]],
    "ties in the sort order": [[1, 4], [2, 4], [2, 3], [3, 1], [2, 2], [4, 1]],
    "random grid points": random_front.tolist(),
}


def finite(values):
    return [v if np.isfinite(v) else "inf" for v in values.tolist()]


crowding = [{"name": name, "F": F, "crowding": finite(calc_crowding_distance(np.array(F, dtype=float)))}
            for name, F in crowding_inputs.items()]

print(json.dumps({"pymoo": __version__, "upper": upper.tolist(), "X": X.tolist(), "parents": parents.tolist(),
                  "operators": operators, "crowding": crowding}, indent=1))
