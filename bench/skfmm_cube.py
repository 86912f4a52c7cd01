"""scikit-fmm on the FIM reference problem, as the peer row of bench/results/eikonal.md.

The cube of side 50 mm as a 41³ grid (h = 1.25 mm), source at the corner (0, 0, 0), speed 0.6 mm/ms.
The source is the zero level set of phi = |x| − h (a sphere of one grid spacing, whose nodes scikit-fmm
initialises from phi itself), and T = h / v ± travel_time (− inside the sphere), so that T is compared with |x| / v at every
node. Prints one JSON line per order (1 and 2): best-of-`reps` solve seconds and the max error in ms.
usage: python3 bench/skfmm_cube.py [reps]
"""
import json
import sys
import time

import numpy as np
import skfmm

reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
n, side, v = 41, 50.0, 0.6
h = side / (n - 1)
ax = np.linspace(0.0, side, n)
X, Y, Z = np.meshgrid(ax, ax, ax, indexing="ij")
r = np.sqrt(X**2 + Y**2 + Z**2)
phi = r - h
speed = np.full(phi.shape, v)
for order in (1, 2):
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        tt = skfmm.travel_time(phi, speed, dx=h, order=order)
        best = min(best, time.perf_counter() - t0)
    T = h / v + np.sign(phi) * np.abs(np.asarray(tt))  # inside the sphere the time runs back to 0
    err = float(np.max(np.abs(T - r / v)))
    print(json.dumps({"solver": "scikit-fmm", "version": getattr(skfmm, "__version__", "?"), "order": order,
                      "nodes": int(phi.size), "seconds": best, "max_err_ms": err}))
