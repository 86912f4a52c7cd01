#!/usr/bin/env python3
"""MetaEikonal from Python, notebook style: generate a BiV, solve an activation map with the FIM
solver, personalise a trained meta-PINN from a few sparse endocardial maps and write a .vtu for
ParaView.

    PYTHONPATH=build/python python3 examples/python/quickstart.py --output out/quickstart
    PYTHONPATH=build/python python3 examples/python/quickstart.py --model runs/quick   # a trained run

Without --model it first trains a tiny meta-PINN for a few seconds on maps of the same heart (far
too short to be accurate: it shows the calls, not the paper's numbers; train one with
`metaeikonal train -c configs/train/quick.json` for that)."""

import argparse
import os
import shutil
import time

import numpy as np

import metaeikonal as me

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--output", default="out/quickstart", help="output directory")
parser.add_argument("--model", help="run directory of a trained meta-PINN (default: train a tiny one)")
parser.add_argument("--nodes", type=int, default=600, help="target node count of the BiV")
args = parser.parse_args()
os.makedirs(args.output, exist_ok=True)
start = time.time()
me.set_verbosity("quiet")  # warnings only; "normal" shows the library's progress messages

# 1. A small biventricular mesh from the CGAL generator: points (mm) and tets are NumPy views.
heart = me.generate_ventricle(shape="biv", target_nodes=args.nodes, seed=2, max_attempts=1)
points, tets = heart.points, heart.tets
surface = heart.point_data["surface"]  # 0 interior, 1 LV endo, 2 RV endo, 3 epi, 4 base
print(f"BiV: {heart.num_points} nodes, {heart.num_tets} tets ({points.dtype}, {tets.dtype})")
heart_file = os.path.join(args.output, "biv.vtu")
me.write_mesh(heart, heart_file)

# 2. The Eikonal: one FIM solve at 0.6 mm/ms from an LV endocardial node.
solver = me.FimSolver(points, tets, me.FimOptions(threads=2))
origin = int(np.flatnonzero(surface == 1)[0])
times = solver.solve(0.6, [origin])
print(f"FIM: activation from node {origin} ends at {times.max():.1f} ms")

# 3. Maps of a few scarred subjects on this heart: the context maps (and, without --model, the
#    training data).
data_dir = os.path.join(args.output, "dataset")
me.generate_dataset({"seed": 3, "geometries": [{"name": "biv", "file": heart_file}],
                     "scars": {"aha_groups": [[1, 2, 7, 8], [13, 14, 15, 16, 17]]},
                     "maps_per_subject": 8, "split": {"train": 6, "val": 1}, "solver": {"threads": 2}},
                    data_dir, force=True)
dataset = me.Dataset.load(data_dir)
print(f"dataset: {len(dataset)} maps of {len(dataset.subjects)} subjects")

model_dir = args.model
if model_dir is None:
    model_dir = os.path.join(args.output, "tiny_run")
    shutil.rmtree(model_dir, ignore_errors=True)  # ours, from an earlier run
    tiny = {"model": {"encoder_channels": [4, 8, 8, 16], "hyper_hidden": [32, 32], "pinn_width": 12,
                      "pinn_hidden_layers": 3, "velocity_width": 8, "velocity_layers": 3},
            "data": {"levels": 4},
            "train": {"epochs": 8, "k": 3, "queries": 2, "lr": 3e-3, "warmup_epochs": 1, "alpha_ramp_epochs": 4,
                      "residual_points": 64, "val_every": 4, "val_queries": 1, "seed": 3, "threads": 2}}
    t0 = time.time()
    me.train(tiny, dataset, model_dir)
    print(f"trained a tiny meta-PINN in {time.time() - t0:.1f} s -> {model_dir} (seconds of training: expect "
          "a poor fit)")

# 4. Personalise: k context maps of subject 0 (observed on the endocardium only) and the early part
#    of one of its test maps, in one feed-forward pass.
model = me.load_model(model_dir)
k = model.config["train"]["k"]
subject = 0
source = dataset.mesh(dataset.subjects[subject].geometry)  # with every map of the dataset as arrays
mesh = me.TetMesh(source.points, source.tets)
mesh.set_point_array("surface", source.point_data["surface"], "int32")
observed = dataset.observation_mask(dataset.subjects[subject].geometry)
contexts = [dataset.observation(i) for i in dataset.maps_of(subject, "train")[:k]]
query = dataset.maps_of(subject, "test")[0]
geometry = model.prepare(mesh.points, mesh.tets, observed)
result = model.personalize(geometry, contexts, dataset.observation(query))
metrics = me.map_metrics(result, dataset.activation(query), observed, dataset.speed(subject))
print(f"personalised in {1e3 * result.forward_seconds:.1f} ms: AT correlation {metrics['at_corr']:.3f}, "
      f"relative error {metrics['at_rel_error']:.3f}")

# 5. The same for every test map of the dataset (what `metaeikonal evaluate` reports).
rows = me.evaluate(model, dataset, split="test", progress=False)
print(f"evaluate: {len(rows)} test maps, mean AT correlation {np.mean([r['at_corr'] for r in rows]):.3f}")

# 6. Everything on one mesh for ParaView.
mesh.set_point_array("activation_time_pred", result.times)
mesh.set_point_array("velocity_pred", result.speed)
mesh.set_point_array("activation_time_true", dataset.activation(query))
mesh.set_point_array("velocity_true", dataset.speed(subject))
mesh.set_point_array("fim_from_lv_endo", times)
out = os.path.join(args.output, "personalized.vtu")
me.write_mesh(mesh, out)
assert sorted(me.read_mesh(out).point_data) == sorted(mesh.point_data)
print(f"wrote {out} in {time.time() - start:.1f} s total")
