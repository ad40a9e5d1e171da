"""The layered layout of chainrule.explain: layers, dummy nodes, crossings, coordinates, routes.

Checked on graphs with skip connections, fan-out of one input to many nodes, a 300-node
chain and random DAGs, with the built-in layout and (when installed) Graphviz's dot: no edge
may enter a box other than its two ends, boxes never overlap, every edge starts and ends on
its own boxes.
"""

from __future__ import annotations

import itertools
import random
import time

import pytest

from chainrule.explain.graphviz import dot_available, dot_placement
from chainrule.explain.layout import Placement, _pava, count_crossings, sugiyama
from chainrule.explain.render_svg import path_data
from explain_geometry import Drawing, boxes_overlap, edge_violations

ENGINES = ["chainrule", pytest.param("dot", marks=pytest.mark.skipif(not dot_available(), reason="no dot"))]


def _lay(engine, sizes, edges):
    if engine == "dot":
        p = dot_placement(sizes, edges)
        assert p is not None and p.engine == "graphviz"
        return p
    return sugiyama(sizes, edges)


def _drawing(p: Placement) -> Drawing:
    edges = [(a, b, path_data(segs)) for a, b, segs in p.routes]
    return Drawing(p.width, p.height, dict(p.boxes), {}, edges, None)  # type: ignore[arg-type]


def _check(p: Placement, n_edges: int) -> Drawing:
    d = _drawing(p)
    assert len(d.edges) == n_edges
    assert edge_violations(d) == []
    assert boxes_overlap(d) == []
    for x, y, w, h in d.boxes.values():  # inside the drawing
        assert x >= 0 and y >= 0 and x + w <= p.width + 1e-6 and y + h <= p.height + 1e-6
    return d


def _sizes(keys, w=60.0, h=30.0):
    return {k: (w, h) for k in keys}


def skip_graph():
    keys = [f"a{i}" for i in range(10)]
    edges = [(f"a{i}", f"a{i + 1}") for i in range(9)]
    edges += [("a0", "a5"), ("a2", "a9"), ("a3", "a6"), ("a1", "a8")]  # skip connections
    return keys, edges


@pytest.mark.parametrize("engine", ENGINES)
def test_skip_connections_go_around_the_chain(engine):
    keys, edges = skip_graph()
    p = _lay(engine, _sizes(keys), edges)
    d = _check(p, len(edges))
    # The chain runs downwards; a long edge never lies on top of it.
    ys = [d.boxes[k][1] for k in keys]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)
    if engine == "chainrule":
        assert [p.layer[k] for k in keys] == list(range(10))
        long_edge = next(segs for a, b, segs in p.routes if (a, b) == ("a0", "a5"))
        assert len(long_edge) > 4  # passes through dummy slots in layers 1..4


@pytest.mark.parametrize("engine", ENGINES)
def test_fan_out_of_one_input(engine):
    keys = ["x", *[f"f{i}" for i in range(12)], "sum"]
    edges = [("x", f"f{i}") for i in range(12)] + [(f"f{i}", "sum") for i in range(12)]
    p = _lay(engine, _sizes(keys), edges)
    d = _check(p, len(edges))
    ys = {d.boxes[f"f{i}"][1] for i in range(12)}
    assert len(ys) == 1  # the twelve consumers share one layer
    assert d.boxes["x"][1] < ys.pop() < d.boxes["sum"][1]
    if engine == "chainrule":
        # Fan-out ports are spread along the bottom of x, in the order of their targets.
        starts = [float(path_data(segs).split()[1]) for a, _, segs in p.routes if a == "x"]
        assert len(set(starts)) == 12


def _crossings(edges, centre):
    return sum(
        1
        for (a, b), (c, d) in itertools.combinations(edges, 2)
        if (centre[a] - centre[c]) * (centre[b] - centre[d]) < 0
    )


def test_fan_out_reaches_the_fewest_crossings():
    keys = ["x", "y", *[f"f{i}" for i in range(6)]]
    edges = [("x", f"f{i}") for i in range(6)] + [("y", f"f{i}") for i in range(0, 6, 2)]
    p = sugiyama(_sizes(keys), edges)
    _check(p, len(edges))
    centre = {k: p.boxes[k][0] + p.boxes[k][2] / 2 for k in keys}
    # The fewest possible, by brute force over every order of both layers.
    best = min(
        _crossings(edges, {**dict(zip(top, range(2))), **dict(zip(low, range(6)))})
        for top in itertools.permutations(["x", "y"])
        for low in itertools.permutations(keys[2:])
    )
    assert _crossings(edges, centre) == best == 3


@pytest.mark.parametrize("engine", ENGINES)
def test_chain_of_300_nodes(engine):
    keys = [f"n{i}" for i in range(300)]
    edges = [(f"n{i}", f"n{i + 1}") for i in range(299)]
    t0 = time.perf_counter()
    p = _lay(engine, _sizes(keys), edges)
    assert time.perf_counter() - t0 < 20
    d = _check(p, len(edges))
    xs = {round(d.boxes[k][0], 1) for k in keys}
    assert len(xs) == 1  # a chain is one straight column
    assert p.width < 200


def test_parameters_sit_beside_their_consumer():
    # w feeds only the last op of a long chain: it is placed one layer above that op.
    keys = ["x", "a", "b", "c", "d", "w"]
    edges = [("x", "a"), ("a", "b"), ("b", "c"), ("c", "d"), ("w", "d")]
    p = sugiyama(_sizes(keys), edges)
    assert p.layer["w"] == p.layer["d"] - 1 == p.layer["c"]
    _check(p, len(edges))


def test_cycles_are_broken_and_edges_keep_their_direction():
    keys = ["a", "b", "c"]
    edges = [("a", "b"), ("b", "c"), ("c", "a")]
    p = sugiyama(_sizes(keys), edges)
    d = _check(p, 3)
    assert [(a, b) for a, b, _ in d.edges] == edges


def _random_dag(seed, n=25, p=0.12):
    rng = random.Random(seed)
    keys = [f"v{i}" for i in range(n)]
    edges = [(keys[i], keys[j]) for i in range(n) for j in range(i + 1, n) if rng.random() < p]
    sizes = {k: (rng.choice([30.0, 60.0, 140.0]), rng.choice([24.0, 40.0])) for k in keys}
    return keys, edges, sizes


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("seed", range(6))
def test_random_dags_never_route_through_a_box(engine, seed):
    _, edges, sizes = _random_dag(seed)
    p = _lay(engine, sizes, edges)
    _check(p, len(edges))


def test_crossing_reduction_helps():
    # Two layers given in an order with every pair crossing; the sweeps untangle them.
    keys = [f"u{i}" for i in range(6)] + [f"l{i}" for i in range(6)]
    edges = [(f"u{i}", f"l{5 - i}") for i in range(6)]
    p = sugiyama(_sizes(keys), edges)
    centre = {k: p.boxes[k][0] for k in keys}
    assert _crossings(edges, centre) == 0


def test_count_crossings_matches_brute_force():
    rng = random.Random(7)
    for _ in range(50):
        pairs = [(rng.randrange(8), rng.randrange(8)) for _ in range(rng.randrange(1, 20))]
        brute = sum(1 for (a, b), (c, d) in itertools.combinations(pairs, 2) if (a - c) * (b - d) < 0)
        assert count_crossings(pairs, 8) == brute


def test_pava_is_the_best_non_decreasing_fit():
    rng = random.Random(3)
    for _ in range(30):
        n = rng.randrange(1, 8)
        target = [rng.uniform(-5, 5) for _ in range(n)]
        weight = [rng.uniform(0.5, 3) for _ in range(n)]
        fit = _pava(target, weight)
        assert all(a <= b + 1e-12 for a, b in itertools.pairwise(fit))
        cost = sum(w * (f - t) ** 2 for f, t, w in zip(fit, target, weight))
        # No small monotone perturbation does better (first-order optimality, sampled).
        for _ in range(20):
            other = sorted(f + rng.uniform(-0.3, 0.3) for f in fit)
            assert cost <= sum(w * (f - t) ** 2 for f, t, w in zip(other, target, weight)) + 1e-9
