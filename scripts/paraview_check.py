"""Opens an experiment's examples.pvd in ParaView (pvpython) and checks what a user will see.

    pvpython scripts/paraview_check.py OUT/examples/examples.pvd [--screenshot fig.png] [--array error]

Loads the collection with ParaView's own PVD reader, steps through every time step (one method on
one map each), checks that each step has the example arrays with finite values, prints a line per
step and, with --screenshot, renders the last step coloured by --array (side view, scalar bar).
For a screenshot without a display, run it under `xvfb-run -a`. Exits non-zero on any problem.
"""

import argparse
import math
import sys

from paraview import servermanager
from paraview.simple import (ColorBy, GetActiveCamera, GetActiveViewOrCreate, PVDReader, Render,
                             ResetCamera, SaveScreenshot, Show)

REQUIRED = ["activation_time_true", "activation_time_pred", "error", "observed", "surface", "aha"]


def fail(message):
    print(f"paraview_check: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("pvd")
    parser.add_argument("--screenshot")
    parser.add_argument("--array", default="activation_time_pred")
    args = parser.parse_args()

    reader = PVDReader(FileName=args.pvd)
    steps = list(reader.TimestepValues) if reader.TimestepValues else [0.0]
    if not steps:
        fail(f"{args.pvd}: no time steps")
    for t in steps:
        reader.UpdatePipeline(t)
        data = servermanager.Fetch(reader)
        points = data.GetPointData()
        missing = [a for a in REQUIRED if points.GetArray(a) is None]
        if missing:
            fail(f"{args.pvd}: step {t:g} lacks point arrays {missing}")
        ranges = {}
        for i in range(points.GetNumberOfArrays()):
            array = points.GetArray(i)
            lo, hi = array.GetRange()
            if not (math.isfinite(lo) and math.isfinite(hi)):
                fail(f"{args.pvd}: step {t:g}: array {array.GetName()} is not finite")
            ranges[array.GetName()] = (lo, hi)
        at = ranges["activation_time_pred"]
        err = ranges["error"]
        print(f"step {t:g}: {data.GetNumberOfPoints()} points, {data.GetNumberOfCells()} cells, "
              f"{points.GetNumberOfArrays()} arrays; predicted AT {at[0]:.1f}..{at[1]:.1f} ms, "
              f"error {err[0]:.1f}..{err[1]:.1f} ms")

    if args.screenshot:
        if args.array not in REQUIRED + ["velocity_true", "velocity_pred", "pde_residual"]:
            fail(f"--array {args.array}: not an example array")
        view = GetActiveViewOrCreate("RenderView")
        view.ViewSize = [1000, 700]
        view.ViewTime = steps[-1]
        display = Show(reader, view)
        ColorBy(display, ("POINTS", args.array))
        display.RescaleTransferFunctionToDataRange(True, False)
        display.SetScalarBarVisibility(view, True)
        ResetCamera(view)
        camera = GetActiveCamera()
        camera.Elevation(-70)  # from the side: base on top, apex at the bottom
        camera.SetViewUp(0, 0, 1)
        ResetCamera(view)
        Render(view)
        SaveScreenshot(args.screenshot, view, ImageResolution=[1000, 700])
        print(f"screenshot {args.screenshot} ({args.array}, step {steps[-1]:g})")
    print(f"paraview_check: {args.pvd}: {len(steps)} steps OK")


if __name__ == "__main__":
    main()
